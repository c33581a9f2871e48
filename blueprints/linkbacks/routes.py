"""HTTP for linkbacks: read the request, call services.linkbacks, answer in the protocol's format.

TrackBack answers ``text/xml`` (``<error>0|1</error>``), Pingback answers XML-RPC
(faults for errors), Webmention answers plain text (``202``, or ``4xx`` with the
reason). Bad input never reaches the generic error pages, and a failed request
is rolled back so it writes nothing.
"""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape as xml_escape

from flask import Response, abort, current_app, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from blueprints.linkbacks import bp
from extensions import db
from services import linkbacks, xmlrpc
from services.errors import render_error
from services.linkbacks import LinkbackError
from services.templating import absolute_url

log = logging.getLogger(__name__)

ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]
XML_PROLOG = '<?xml version="1.0" encoding="utf-8"?>\n'


class _TooLarge(Exception):
    pass


def _body(limit: int) -> bytes:
    """The raw request body, refused above ``limit`` bytes (a declared length is refused unread)."""
    if request.content_length is not None and request.content_length > limit:
        raise _TooLarge
    try:
        # cache=True: the body may already have been read (and cached) by a before_request hook.
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _TooLarge from None
    if len(data) > limit:
        raise _TooLarge
    return data


def _client() -> tuple[str, str]:
    return request.remote_addr or "", request.headers.get("User-Agent", "")


# ---------------------------------------------------------------- TrackBack


def _trackback_answer(error: str | None = None, status: int = 200) -> Response:
    if error is None:
        body = f"{XML_PROLOG}<response>\n<error>0</error>\n</response>\n"
    else:
        body = f"{XML_PROLOG}<response>\n<error>1</error>\n<message>{xml_escape(error)}</message>\n</response>\n"
    return Response(body, status=status, content_type="text/xml; charset=utf-8")


def _trackback_fields() -> dict[str, str]:
    content_type = request.headers.get("Content-Type", "")
    mimetype = content_type.split(";", 1)[0].strip().lower()
    if mimetype == "multipart/form-data":
        return {k: v for k, v in request.form.items()}
    if mimetype not in {"", "application/x-www-form-urlencoded"}:
        raise LinkbackError("bad_request", "Send the ping as application/x-www-form-urlencoded.")
    body = _body(current_app.config.get("MAX_CONTENT_LENGTH") or 1024 * 1024)
    return linkbacks.parse_form(body, linkbacks.form_charset(content_type))


@bp.route("/article/<slug>/trackback", methods=ANY_METHOD)
def trackback(slug: str) -> Response:
    """TrackBack 1.2: a form POST with url (required), title, excerpt and blog_name."""
    if request.method != "POST":
        return _trackback_answer("TrackBack pings must be sent with POST (application/x-www-form-urlencoded).")
    ip, agent = _client()
    try:
        received = linkbacks.receive_trackback(slug, _trackback_fields(), ip=ip, user_agent=agent)
    except _TooLarge:
        return _trackback_answer("The ping is too large.", status=413)
    except LinkbackError as exc:
        db.session.rollback()
        return _trackback_answer(exc.message)
    except Exception:
        db.session.rollback()
        log.exception("trackback failed")
        return _trackback_answer("The ping could not be processed; please try again later.")
    if received.is_spam:
        if received.reason.startswith("the source"):
            return _trackback_answer("The page at that URL does not link to this article.")
        return _trackback_answer("The ping was not accepted.")
    return _trackback_answer()


# ---------------------------------------------------------------- Pingback (XML-RPC)


def _xmlrpc_answer(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/xml; charset=utf-8")


@bp.route("/xmlrpc", methods=ANY_METHOD, endpoint="xmlrpc")
def xmlrpc_endpoint() -> Response:
    """XML-RPC with one method, ``pingback.ping(sourceURI, targetURI)``."""
    if request.method != "POST":
        return Response(
            "XML-RPC server accepts POST requests only.\n", status=405, headers={"Allow": "POST"}, mimetype="text/plain"
        )
    try:
        method, params = xmlrpc.parse_call(_body(xmlrpc.MAX_CALL_BYTES))
    except _TooLarge:
        return _xmlrpc_answer(xmlrpc.fault(xmlrpc.PARSE_ERROR, "The XML-RPC document is too large."), status=413)
    except xmlrpc.XmlRpcError as exc:
        return _xmlrpc_answer(xmlrpc.fault(exc.code, exc.message))
    if method != "pingback.ping":
        return _xmlrpc_answer(xmlrpc.fault(xmlrpc.METHOD_NOT_FOUND, f"Method {method[:80]} does not exist."))
    if len(params) != 2 or not all(isinstance(p, str) for p in params):
        return _xmlrpc_answer(xmlrpc.fault(xmlrpc.INVALID_PARAMS, "pingback.ping takes two strings: source, target."))
    source, target = params
    ip, agent = _client()
    try:
        received = linkbacks.receive_pingback(source, target, ip=ip, user_agent=agent)
    except LinkbackError as exc:
        db.session.rollback()
        return _xmlrpc_answer(xmlrpc.fault(exc.fault_code, exc.message))
    except Exception:
        db.session.rollback()
        log.exception("pingback failed")
        return _xmlrpc_answer(xmlrpc.fault(xmlrpc.INTERNAL_ERROR, "The pingback could not be processed."))
    if received.is_spam:
        return _xmlrpc_answer(xmlrpc.fault(linkbacks.FAULT_ACCESS_DENIED, "The pingback was not accepted."))
    return _xmlrpc_answer(xmlrpc.success(f"Pingback from {source} to {target} registered. Keep the web talking!"))


# ---------------------------------------------------------------- Webmention


def _text(message: str, status: int, **headers: str) -> Response:
    return Response(message.rstrip("\n") + "\n", status=status, headers=headers, mimetype="text/plain")


@bp.route("/webmention", methods=ANY_METHOD)
def webmention() -> Response:
    """Webmention: validate now, answer 202 with a status URL, verify in the background."""
    if request.method != "POST":
        return _text("Send a Webmention as a form POST with source and target.", 405, Allow="POST")
    ip, agent = _client()
    try:
        job_id = linkbacks.accept_webmention(
            request.form.get("source"), request.form.get("target"), ip=ip, user_agent=agent
        )
    except RequestEntityTooLarge:
        return _text("The request is too large.", 413)
    except LinkbackError as exc:
        db.session.rollback()
        extra = {"Retry-After": "600"} if exc.status == 429 else {}
        return _text(exc.message, exc.status, **extra)
    except Exception:
        db.session.rollback()
        log.exception("webmention failed")
        return _text("The Webmention could not be queued; please try again later.", 503, **{"Retry-After": "60"})
    status_url = absolute_url("linkbacks.webmention_status", token=linkbacks.status_token(job_id))
    return _text(f"Accepted: the Webmention will be verified shortly.\nStatus: {status_url}", 202, Location=status_url)


@bp.get("/webmention/status/<token>")
def webmention_status(token: str):
    """A human-readable page saying what became of one Webmention."""
    job = linkbacks.job_for_token(token)
    if job is None:
        abort(404)
    return render_template("linkbacks/status.html", status=linkbacks.describe_job(job))


# ---------------------------------------------------------------- errors outside the views


@bp.errorhandler(Exception)
def _protocol_error(exc: Exception):
    """Errors raised before or around a view (a 413 from a body-reading hook, say)
    still answer in the endpoint's protocol, never as an HTML page or a bare 500."""
    db.session.rollback()
    status = exc.code if isinstance(exc, HTTPException) and exc.code else 500
    if request.endpoint == "linkbacks.webmention_status":
        if status >= 500:
            log.error("webmention status page failed", exc_info=exc)
        return render_error(status)
    if status >= 500:
        log.error("linkback endpoint %s failed", request.endpoint, exc_info=exc)
        status = 503
    message = "The request is too large." if status == 413 else "The request could not be processed."
    if request.endpoint == "linkbacks.trackback":
        return _trackback_answer(message, status=status if status in (413, 503) else 200)
    if request.endpoint == "linkbacks.xmlrpc":
        return _xmlrpc_answer(xmlrpc.fault(xmlrpc.INTERNAL_ERROR, message), status=status)
    return _text(message, status)


# ---------------------------------------------------------------- discovery headers


@bp.after_app_request
def _advertise(response: Response) -> Response:
    """Article pages name our Pingback and Webmention endpoints in headers too."""
    if request.endpoint == "news.article" and response.status_code == 200:
        response.headers["X-Pingback"] = absolute_url("linkbacks.xmlrpc")
        response.headers.add("Link", f'<{absolute_url("linkbacks.webmention")}>; rel="webmention"')
    return response
