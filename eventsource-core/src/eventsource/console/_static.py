"""The console's one stylesheet and one script, served from /static (no CDN, no framework)."""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.2em;background:#1d2330;color:#fff}
header nav a{color:#cfd6e4;margin-right:.9em;text-decoration:none}
header nav a.on,header nav a:hover{color:#fff;text-decoration:underline}
.banner{margin-left:auto;font-size:12px;color:#cfd6e4}
.banner .rw{color:#ffb86b}.banner .ro{color:#8fe39a}
main{padding:1em 1.6em;max-width:1200px}
h1{font-size:20px;margin:.3em 0 .6em}h2{font-size:16px;margin:1.2em 0 .4em}
table{border-collapse:collapse;background:#fff;width:100%;margin:.4em 0 1em}
th,td{border:1px solid #dde1e8;padding:.3em .55em;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.empty{color:#777;font-style:italic}
pre{background:#fff;border:1px solid #dde1e8;padding:.8em;overflow:auto;white-space:pre-wrap}
dl{display:grid;grid-template-columns:max-content auto;gap:.25em 1.2em;background:#fff;
padding:.8em;border:1px solid #dde1e8}dt{font-weight:600}dd{margin:0}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{background:#fff;border:1px solid #dde1e8;
padding:.6em 1em;min-width:9em}.card b{display:block;font-size:22px}
form.inline{display:inline-flex;gap:.4em;margin:.2em 0}
input,select,button{font:inherit;padding:.2em .45em}
.flash{background:#e8f4ea;border:1px solid #9ccea6;padding:.4em .8em}
.error{background:#fbeaea;border:1px solid #e0a0a0;padding:.4em .8em}
.chartrow{display:flex;align-items:center;gap:.6em;margin:.3em 0}
.chartrow h3{width:10em;font-size:14px;margin:0;overflow-wrap:anywhere}
.chart{background:#fff;border:1px solid #dde1e8}
.chart .line{fill:none;stroke:#2f6fde;stroke-width:2}.chart .axis{stroke:#999}
.chart text{font-size:10px;fill:#555}.chart .t{font-size:11px;fill:#1d2330}
.muted{color:#777}
"""

JS = """
(function () {
  "use strict";
  var state = document.getElementById("live-state");
  function refresh() {
    if (document.body.dataset.live !== "1") return;
    var main = document.getElementById("main");
    var active = document.activeElement;
    // never while the operator is typing, or has typed something not yet sent
    if (active && main.contains(active) && active.tagName !== "A") return;
    var typed = Array.prototype.some.call(main.querySelectorAll("input"), function (i) {
      return i.value !== i.defaultValue;
    });
    if (typed) return;
    fetch(location.href).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (text) {
      if (!text) return;
      var page = new DOMParser().parseFromString(text, "text/html");
      var fresh = page.getElementById("main");
      if (fresh) main.innerHTML = fresh.innerHTML;
    }).catch(function () {});
  }
  if (!window.EventSource) return;
  var source = new EventSource("/live");
  source.addEventListener("hello", function (e) {
    if (state) state.textContent = "live: " + e.data;
  });
  source.addEventListener("change", refresh);
  source.onerror = function () { if (state) state.textContent = "live: reconnecting"; };
})();
"""
