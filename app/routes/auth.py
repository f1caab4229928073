"""Web layer: sign-in and sign-out pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.htmx import render
from app.sessions import SESSION_USER_KEY, rotate_session_id
from runway.services.experiences.sign_in import SignInService


@dataclass(frozen=True, slots=True)
class LoginView:
    email: str = ""
    next: str = "/"
    error: str | None = None


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in would be a phishing tool."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


@get("/login", name="auth:login")
async def login_page(
    request: Request[Any, Any, Any], next: FromQuery[str | None] = None
) -> Template | Redirect:
    """The sign-in form; a signed-in visitor goes straight on."""
    if request.scope.get("session") and request.session.get(SESSION_USER_KEY):
        return Redirect(path=safe_next(next), status_code=303)
    return render(request, page="pages/login.html", view=LoginView(next=safe_next(next)))


@post("/login", name="auth:login_submit")
async def login_submit(
    request: Request[Any, Any, Any], sign_in: NamedDependency[SignInService]
) -> Template | Redirect:
    """Check the credentials; on success start a fresh session and continue to `next`."""
    form = await request.form()
    email = str(form.get("email") or "")[:320]
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or "/"))
    user = await sign_in.authenticate(email, password)
    if user is None:
        view = LoginView(email=email, next=target, error="That e-mail and password do not match an account.")
        return render(request, page="pages/login.html", view=view, status_code=400)
    rotate_session_id(request)
    request.set_session({SESSION_USER_KEY: user.id})
    return Redirect(path=target, status_code=303)


@post("/logout", name="auth:logout")
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    """End the session everywhere this cookie was used."""
    request.clear_session()
    return Redirect(path="/login", status_code=303)
