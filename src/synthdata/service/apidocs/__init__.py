"""The API docs page (Swagger UI served from the installed package) and the front page."""
