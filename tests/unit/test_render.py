"""Unit: render() gives a page, or a partial for htmx swaps, and always varies on HX-Request."""

from __future__ import annotations

import pytest
from litestar import Litestar, Request, get
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from litestar.testing import TestClient

from app.htmx import render


@get("/thing")
async def thing(request: Request) -> Template:  # type: ignore[type-arg]
    return render(request, page="page.html", partial="_part.html", view={"n": 7})


@pytest.fixture
def client(tmp_path):
    (tmp_path / "_part.html").write_text('<div id="part">part {{ view.n }}</div>')
    (tmp_path / "page.html").write_text("<html><body>page {% include '_part.html' %}</body></html>")
    app = Litestar(
        [thing],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(directory=tmp_path, engine=JinjaTemplateEngine),
    )
    with TestClient(app) as test_client:
        yield test_client


def test_it_renders_the_page_for_a_normal_request(client):
    response = client.get("/thing")
    assert response.text.startswith("<html>")
    assert 'id="part">part 7' in response.text
    assert response.headers["vary"] == "HX-Request"


def test_it_renders_the_partial_for_an_htmx_swap(client):
    response = client.get("/thing", headers={"HX-Request": "true"})
    assert response.text == '<div id="part">part 7</div>'
    assert response.headers["vary"] == "HX-Request"


@pytest.mark.parametrize("extra", [{"HX-History-Restore-Request": "true"}, {"HX-Boosted": "true"}])
def test_it_renders_the_page_for_history_restores_and_boosted_navigation(client, extra):
    response = client.get("/thing", headers={"HX-Request": "true", **extra})
    assert response.text.startswith("<html>")
    assert response.headers["vary"] == "HX-Request"
