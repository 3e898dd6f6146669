"""`/api/v1/docs` that works offline, `/docs` that leads there, and a front page at `/`.

FastAPI's built-in docs page loads Swagger UI from a CDN, so it is blank on a
machine without internet. The `fastapi-offline` distribution ships the same
Swagger UI 5 bundle (and its CSS) inside the wheel; the page here points at those
files, served by this app, so the page needs nothing but the service itself.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

# The files of the installed distribution, as released (Swagger UI, ReDoc, favicon).
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
FAVICON = "favicon.png"

TITLE = "Inferloop Synthetic Data"

_FRONT_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{root}{assets}/{favicon}">
<style>
  body {{ margin: 0; background: #f6f8fa; color: #1f2328;
         font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }}
  main {{ max-width: 640px; margin: 0 auto; padding: 40px 16px; }}
  h1 {{ font-size: 1.4rem; margin: 0 0 4px; }}
  p {{ color: #59636e; margin: 0 0 24px; }}
  ul {{ list-style: none; margin: 0; padding: 0; background: #fff;
        border: 1px solid #d1d9e0; border-radius: 10px; }}
  li {{ padding: 14px 18px; border-top: 1px solid #d1d9e0; }}
  li:first-child {{ border-top: 0; }}
  a {{ color: #0969da; font-weight: 600; text-decoration: none; }}
  a:hover {{ text-decoration: underline; }}
  code {{ font-size: 0.9em; }}
  span {{ display: block; color: #59636e; font-size: 0.9rem; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>Turn a real table into a faithful, privacy-safe synthetic one.</p>
<ul>
  <li><a href="{root}{docs}">API documentation</a>
    <span>Every endpoint of <code>{api}</code>, to read and to try with your API key.</span></li>
  <li><a href="{root}{openapi}">OpenAPI document</a>
    <span>The same, as JSON for code generators.</span></li>
  <li><a href="{root}/status">Service status</a>
    <span>Whether the service is up, and open incidents.</span></li>
</ul>
</main>
</body>
</html>
"""


def install_api_docs(app: FastAPI, *, api_prefix: str) -> None:
    """Serve the docs page at `{api_prefix}/docs`, its assets below it, `/docs` and `/`.

    Create the app with `docs_url=None`, so that FastAPI's CDN-based page is not
    added as well.
    """
    openapi_url = app.openapi_url or f"{api_prefix}/openapi.json"
    docs_url = f"{api_prefix}/docs"
    assets_url = f"{docs_url}/assets"
    router = APIRouter(include_in_schema=False)
    static = StaticFiles(directory=ASSETS_DIR)  # ETag, Last-Modified, 304, no path escapes

    # A route rather than a mount: the request metrics label a request by its route
    # template, and a mount's requests would all be counted as `unmatched`.
    @router.get(f"{assets_url}/{{name}}")
    async def api_docs_asset(name: str, request: Request) -> Response:
        return await static.get_response(name, request.scope)

    @router.get(docs_url, response_class=HTMLResponse)
    def api_docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{TITLE} - API",
            swagger_js_url=f"{root}{assets_url}/{SWAGGER_JS}",
            swagger_css_url=f"{root}{assets_url}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{root}{assets_url}/{FAVICON}",
        )

    @router.get("/docs")
    def docs_redirect(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{request.scope.get('root_path', '')}{docs_url}")

    @router.get("/", response_class=HTMLResponse)
    def front_page(request: Request) -> HTMLResponse:
        page = _FRONT_PAGE.format(
            title=escape(TITLE),
            root=escape(request.scope.get("root_path", "")),
            assets=assets_url,
            favicon=FAVICON,
            docs=docs_url,
            openapi=openapi_url,
            api=api_prefix,
        )
        return HTMLResponse(page)

    app.include_router(router)
