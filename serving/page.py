"""`GET /`: one HTML page with each model's live and desired version, pin commit,
condition and reason (with when a failure is tried again), and a form that sends a prediction.

Rendered on the server from the same data as /status and /models, every value escaped;
the only script posts the form's JSON to /predict/{model} and shows the answer.
"""

from __future__ import annotations

import json
from html import escape

STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}.Ready{color:#17612e}.Stalled{color:#a3161b}
.Reconciling{color:#8a5a00}textarea{width:100%;font-family:monospace}pre{background:#f4f4f4;padding:.5rem}"""

SCRIPT = """for (const form of document.querySelectorAll('form[data-model]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const out = form.querySelector('pre');
    const response = await fetch('predict/' + encodeURIComponent(form.dataset.model),
      {method: 'POST', headers: {'content-type': 'application/json'}, body: form.querySelector('textarea').value});
    out.textContent = response.status + ' ' + JSON.stringify(await response.json(), null, 2);
  });
}"""


def render_page(status: dict, models: list[dict]) -> str:
    """The whole page for a /status document and a /models list."""
    pin = status["pin"]
    rows = "".join(_row(s) for s in status["models"]) or '<tr><td colspan="6">nothing pinned</td></tr>'
    forms = "".join(_form(m) for m in models)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>mlpin serving</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>mlpin serving</h1><p>pin: {escape(pin['source'])} at <code>{escape(_short(pin['revision']))}</code> "
        f'— <span class="{escape(pin["condition"])}">{escape(pin["condition"])}</span> '
        f"{escape(pin['message'] + _retry(pin))}</p>"
        "<table><thead><tr><th>model</th><th>live</th><th>desired</th><th>pin commit</th><th>condition</th>"
        "<th>reason</th></tr></thead>"
        f"<tbody>{rows}</tbody></table><h2>Predict</h2>{forms}<script>{SCRIPT}</script></body></html>"
    )


def _row(s: dict) -> str:
    cells = [s["model"], _version(s["live_version"]), _version(s["desired_version"]), _short(s["pin_revision"])]
    condition = escape(s["condition"])
    reason = (f"{s['reason']}: {s['message']}" if s["message"] else s["reason"]) + _retry(s)
    tds = "".join(f"<td>{escape(c)}</td>" for c in cells)
    cells_html = f'{tds}<td class="{condition}">{condition}</td><td>{escape(reason)}</td>'
    return f'<tr data-model="{escape(s["model"])}">{cells_html}</tr>'


def _retry(s: dict) -> str:
    """When a failure is tried again: at a time (retryable), or once the pin changes (terminal)."""
    if s.get("terminal"):
        return " (not retried until the pin changes)"
    return f" (next try {s['next_attempt_at']})" if s.get("next_attempt_at") else ""


def _form(model: dict) -> str:
    blank = {"images": ["<a PNG, JPEG or DNG, base64>"]} if "images" in model else \
        {c["name"]: None for c in model["inputs"]}
    example = json.dumps(model["example"] or blank, indent=1)
    name = escape(model["name"])
    return (
        f'<form data-model="{name}"><h3>{name} v{model["version"]} ({escape(model["task"])})</h3>'
        f'<textarea rows="8" name="body">{escape(example)}</textarea>'
        '<button type="submit">predict</button><pre></pre></form>'
    )


def _version(value: int | None) -> str:
    return "—" if value is None else f"v{value}"


def _short(revision: str | None) -> str:
    return "—" if not revision else revision[:12]
