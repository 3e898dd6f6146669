"""The API docs page works with no internet: its assets come from this server.

A real uvicorn server on loopback; the browser test opens it in the Debian Chromium
with every request to any other host refused, as on a machine without internet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from tests.fixtures.service import serving

from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Operations the page must show, as Swagger UI renders their paths.
OPERATIONS = ["/api/v1/datasets", "/api/v1/jobs", "/api/v1/jobs/{job_id}/result", "/api/v1/usage"]

pytestmark = pytest.mark.parametrize("migrated_database", ["sqlite"], indirect=True)


@pytest.fixture
def server_url(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings, workers=0)) as url:
        yield url


def test_docs_assets_are_local_and_served(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=10) as http:
        page = http.get("/api/v1/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert {Path(urlsplit(a).path).suffix for a in assets} >= {".js", ".css"}, assets
        assert "//" not in page.text, "an absolute URL (another host): not served here"
        for asset in assets:
            assert asset.startswith("/api/v1/docs/assets/"), asset
            answer = http.get(asset)
            assert answer.status_code == 200, asset
            assert len(answer.content) > 1000, asset
        kinds = {Path(a).suffix: http.get(a).headers["content-type"] for a in assets}
        assert kinds[".js"].startswith("text/javascript")
        assert kinds[".css"].startswith("text/css")
        assert "SwaggerUIBundle" in http.get(next(a for a in assets if a.endswith(".js"))).text
        spec = re.search(r"url: '([^']+)'", page.text)
        assert spec is not None and spec.group(1) == "/api/v1/openapi.json"
        assert http.get(spec.group(1)).json()["info"]["title"] == "Inferloop Synthetic Data"

        missing = http.get("/api/v1/docs/assets/nothing.js")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


def test_front_page_and_docs_redirect(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=10) as http:
        docs = http.get("/docs")
        assert docs.status_code == 307 and docs.headers["location"] == "/api/v1/docs"
        assert http.get("/docs", follow_redirects=True).url.path == "/api/v1/docs"

        front = http.get("/")
        assert front.status_code == 200 and front.headers["content-type"].startswith("text/html")
        links = re.findall(r'<a href="([^"]+)"', front.text)
        assert links == ["/api/v1/docs", "/api/v1/openapi.json", "/status"]
        for link in links:
            assert http.get(link).status_code == 200, link
        # Not part of the API: neither page is an operation in the OpenAPI document.
        paths = http.get("/api/v1/openapi.json").json()["paths"]
        assert not {"/", "/docs", "/api/v1/docs"} & set(paths)


def test_api_docs_render_offline_in_chromium(server_url: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    if not CHROMIUM.exists():  # installed by the test command (tools/env.sh)
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    origin = urlsplit(server_url).netloc
    refused: list[str] = []
    errors: list[str] = []

    def offline(route: Route) -> None:
        """Let requests to this server through; refuse the rest, as with no internet."""
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", offline)
            page.on("pageerror", lambda error: errors.append(str(error)))

            response = page.goto(f"{server_url}/")
            assert response is not None and response.status == 200
            page.get_by_role("link", name="API documentation").click()
            page.wait_for_url(urljoin(server_url, "/api/v1/docs"))
            page.wait_for_selector(".opblock-summary-path", timeout=20_000)
            shown = page.locator(".opblock-summary-path").evaluate_all(
                "nodes => nodes.map(n => n.getAttribute('data-path'))"
            )
            for operation in OPERATIONS:
                assert operation in shown, (operation, shown)
            assert page.locator(".info .title").inner_text().startswith("Inferloop Synthetic Data")
            # Swagger UI's own styles are applied (the stylesheet came from this server).
            assert page.locator(".opblock-get").first.evaluate(
                "n => getComputedStyle(n).borderTopLeftRadius"
            ) not in ("", "0px")
            page.screenshot(path=str(ARTIFACTS / "api-docs.png"))

            page.goto(f"{server_url}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=20_000)
            assert urlsplit(page.url).path == "/api/v1/docs"
        finally:
            browser.close()
    assert refused == [], f"the page asked for files elsewhere: {refused}"
    assert errors == [], errors
