/* agentflow run view: draws the timeline from the JSON embedded in the page. No network, no libraries.
   Everything from the trace is inserted as text (textContent), never as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("run-data").textContent);
  var items = data.items, colors = data.colors, offers = data.offers;
  var duration = data.duration > 0 ? data.duration : 1e-6;
  var rowsEl = document.getElementById("rows");
  var groups = [];

  // -- small helpers ---------------------------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function json(v) { return typeof v === "string" ? v : JSON.stringify(v); }
  function pretty(v) { return typeof v === "string" ? v : JSON.stringify(v, null, 2); }
  function short(v, n) { var s = json(v); if (s === undefined) s = ""; s = s.replace(/\s+/g, " "); return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  function ms(seconds) {
    if (seconds === undefined || seconds === null) return "";
    var m = seconds * 1000;
    if (m < 1) return "<1 ms";
    if (m < 1000) return Math.round(m) + " ms";
    return (seconds < 100 ? seconds.toFixed(2) : Math.round(seconds)) + " s";
  }
  function callText(call) {
    var args = call.arguments || {};
    return (call.name || "?") + "(" + Object.keys(args).map(function (k) { return k + "=" + short(args[k], 60); }).join(", ") + ")";
  }
  function chip(agent) {
    var c = el("span", "chip");
    c.style.background = colors[agent] || "#999";
    return c;
  }
  function pre(text) { return el("pre", null, text); }
  function section(parent, title) { parent.appendChild(el("h3", null, title)); }
  function strings(value, out) {  // every string and number inside a value, for search
    if (value === null || value === undefined) return out;
    if (typeof value === "string") out.push(value);
    else if (typeof value === "number" || typeof value === "boolean") out.push(String(value));
    else if (Array.isArray(value)) value.forEach(function (v) { strings(v, out); });
    else if (typeof value === "object") Object.keys(value).forEach(function (k) { strings(value[k], out); });
    return out;
  }
  function bar(start, end, cls) {
    var w = el("div", "wf"), b = el("span", "bar " + cls);
    b.style.left = Math.min(100, (start / duration) * 100) + "%";
    if (cls !== "event") b.style.width = Math.max(0.25, ((end - start) / duration) * 100) + "%";
    w.appendChild(b);
    return w;
  }
  function row(cls, cells) {
    var r = el("div", "row " + cls);
    cells.forEach(function (c) { r.appendChild(c); });
    return r;
  }
  function toolCell(name) { return el("span", "who mono", name); }
  function whoCell(agent, extra) {
    var w = el("span", "who");
    if (agent) { w.appendChild(chip(agent)); w.appendChild(document.createTextNode(agent)); }
    if (extra) w.appendChild(el("span", "sub", " " + extra));
    return w;
  }
  function activationNumber(item) {
    var parts = (item.activation || "").split("/");
    var n = parseInt(parts[parts.length - 1], 10);
    return n > 1 ? "#" + n : "";
  }

  // -- what each row says ----------------------------------------------------------------------------------
  function decisionSummary(decision) {
    var calls = decision.tool_calls || [];
    if (calls.length) return "\u2192 " + calls.map(callText).join("; ");
    return "answer: " + short(decision.final_answer, 160);
  }
  function toolSummary(t) {
    var d = t.data;
    var head = callText({ name: d.tool, arguments: d.arguments });
    if (d.is_error) return head + "  \u2717 " + (d.error_type || "error") + ": " + short(d.content, 120);
    return head + "  \u2190 " + short(d.content, 120);
  }
  function eventSummary(item) {
    var d = item.data || {};
    switch (item.kind) {
      case "run_started": return "run started \u00b7 input: " + short(d.input, 160);
      case "run_resumed": return d.crashed ? "resumed after a crash" : "resumed (was " + d.previous_status + ")";
      case "approval_decided":
        var dec = d.decision || {};
        return "human decision on " + d.tool + " (" + d.call_id + "): " + dec.action + (dec.message ? ": " + short(dec.message, 100) : "") +
          (dec.arguments ? " with edited arguments " + short(dec.arguments, 80) : "") + (dec.result !== undefined && dec.action === "answer" ? " \u2192 " + short(dec.result, 80) : "");
      case "run_errored": return "error " + d.error_type + ": " + short(d.message, 200);
      case "run_finished":
        return "finished: " + d.status + (d.budget ? " (budget '" + d.budget + "')" : "") +
          (d.error ? " \u2014 " + d.error.type + ": " + short(d.error.message, 120) : "") +
          (d.output !== null && d.output !== undefined ? " \u00b7 output: " + short(d.output, 120) : "");
      default: return item.kind + " " + short(d, 160);
    }
  }
  function eventClass(item) {
    var d = item.data || {};
    if (item.kind === "run_errored" || (item.kind === "run_finished" && (d.status === "failed" || d.error))) return "err";
    if (item.kind === "run_finished" && d.status === "budget_exhausted") return "warn";
    if (item.kind === "approval_decided") return "warn";
    return "";
  }

  // -- details, built when a row is first opened -----------------------------------------------------------
  function fullMessages(index) {
    var agent = items[index].agent, last = [];
    for (var i = 0; i <= index; i++) {
      var it = items[i];
      if (it.type === "step" && it.agent === agent) last = last.slice(0, it.model.messages_from || 0).concat(it.model.messages);
    }
    return last;
  }
  function message(m) {
    var box = el("div", "msg " + (m.role || ""));
    var role = m.role || "?";
    if (m.role === "tool") role = "tool " + (m.name || "") + (m.tool_call_id ? " (" + m.tool_call_id + ")" : "");
    box.appendChild(el("span", "role", role));
    if (m.tool_calls && m.tool_calls.length) {
      if (m.reasoning) box.appendChild(el("div", "sub", m.reasoning));
      m.tool_calls.forEach(function (c) { box.appendChild(pre((c.id ? c.id + ": " : "") + c.name + " " + pretty(c.arguments))); });
    } else {
      box.appendChild(pre(m.content === undefined ? "" : json(m.content)));
    }
    return box;
  }
  function stepDetail(item, index) {
    var d = el("div", "detail"), m = item.model, dec = m.decision || {};
    d.appendChild(el("div", "meta",
      "model call \u00b7 step " + m.step + " \u00b7 agent " + item.agent + " " + activationNumber(item) + " \u00b7 model " + m.model +
      " \u00b7 " + m.input_tokens + " input + " + m.output_tokens + " output tokens \u00b7 $" + (m.cost_usd || 0) +
      " \u00b7 " + ms(m.latency_s) + (m.engine ? " \u00b7 engine " + m.engine : "")));
    section(d, "Decision");
    var box = el("div", "decision");
    if (dec.reasoning) box.appendChild(el("div", null, "Reasoning: " + dec.reasoning));
    (dec.tool_calls || []).forEach(function (c) {
      var call = el("div", "call");
      call.appendChild(el("div", null, "Tool call " + (c.id || "") + ": " + c.name));
      call.appendChild(pre(pretty(c.arguments)));
      box.appendChild(call);
    });
    if (!(dec.tool_calls || []).length) { box.appendChild(el("div", null, "Final answer:")); box.appendChild(pre(pretty(dec.final_answer))); }
    d.appendChild(box);
    var from = m.messages_from || 0;
    section(d, "Messages sent to the model" + (from ? " (new since this agent's previous call)" : ""));
    var list = el("div", "messages");
    if (from) {
      var more = el("button", "more", "show the " + from + " earlier message" + (from > 1 ? "s" : "") + " (unchanged from the previous call)");
      more.addEventListener("click", function (ev) {
        ev.stopPropagation();
        var earlier = fullMessages(index).slice(0, from), frag = document.createDocumentFragment();
        earlier.forEach(function (msg) { frag.appendChild(message(msg)); });
        list.insertBefore(frag, more);
        more.remove();
      });
      list.appendChild(more);
    }
    (m.messages || []).forEach(function (msg) { list.appendChild(message(msg)); });
    d.appendChild(list);
    var raw = el("details"); raw.appendChild(el("summary", null, "Raw model output"));
    raw.appendChild(pre(m.raw_text)); d.appendChild(raw);
    var offer = offers[m.offer];
    if (offer) {
      var off = el("details");
      var names = (offer.tools || []).map(function (t) { return t.name; });
      off.appendChild(el("summary", null, "Offered: " + (names.length ? "tools " + names.join(", ") : "no tools") +
        (offer.final_schema ? " + a final-answer schema" : "")));
      off.appendChild(pre(pretty(offer)));
      d.appendChild(off);
    }
    var settings = el("details"); settings.appendChild(el("summary", null, "Settings and ids"));
    settings.appendChild(pre(pretty({ settings: m.settings, task: m.task, offer: m.offer, seq: item.seq })));
    d.appendChild(settings);
    return d;
  }
  function toolDetail(t) {
    var d = el("div", "detail"), x = t.data;
    d.appendChild(el("div", "meta",
      "tool call " + x.call_id + " \u00b7 " + x.tool + " \u00b7 agent " + t.agent + " \u00b7 " + ms(x.latency_s) +
      " \u00b7 " + x.attempts + " attempt" + (x.attempts === 1 ? "" : "s") + (x.by_human ? " \u00b7 answered or rejected by a human" : "")));
    if (x.is_error) d.appendChild(el("div", "err-text", "Error: " + (x.error_type || "error")));
    section(d, "Arguments"); d.appendChild(pre(pretty(x.arguments)));
    section(d, "Observation (what the model read)"); d.appendChild(pre(x.content));
    if (x.result !== null && x.result !== undefined && json(x.result) !== x.content) { section(d, "Result"); d.appendChild(pre(pretty(x.result))); }
    return d;
  }
  function eventDetail(item) {
    var d = el("div", "detail");
    d.appendChild(el("div", "meta", item.kind + " \u00b7 event " + item.seq));
    d.appendChild(pre(pretty(item.data)));
    return d;
  }

  // -- building the rows -----------------------------------------------------------------------------------
  function attachToggle(r, makeDetail) {
    r.tabIndex = 0;
    r._detail = null;
    r._make = makeDetail;
  }
  function toggle(r) {
    if (!r._make) return;
    if (!r._detail) { r._detail = r._make(); r.parentNode.insertBefore(r._detail, r.nextSibling); r.classList.add("open"); return; }
    var open = r._detail.hidden;
    r._detail.hidden = !open;
    r.classList.toggle("open", open);
  }
  rowsEl.addEventListener("click", function (ev) {
    if (ev.target.closest(".detail")) return;
    var r = ev.target.closest(".row");
    if (r && !r.classList.contains("head")) toggle(r);
  });
  rowsEl.addEventListener("keydown", function (ev) {
    if ((ev.key === "Enter" || ev.key === " ") && ev.target.classList && ev.target.classList.contains("row")) { ev.preventDefault(); toggle(ev.target); }
  });

  var frag = document.createDocumentFragment();
  items.forEach(function (item, index) {
    var g = el("div", "group"), rows = [], hay = [], error = false;
    if (item.type === "step") {
      var m = item.model, dec = m.decision || {};
      var what = el("span", "what", decisionSummary(dec));
      if (dec.reasoning) what.appendChild(el("span", "why", dec.reasoning));
      var r = row("step", [el("span", "tg", "\u25b6"), el("span", "n", "step " + m.step), whoCell(item.agent, activationNumber(item)), what,
        el("span", "n", m.input_tokens + "+" + m.output_tokens + " tok"), el("span", "n", ms(m.latency_s)), bar(item.start, item.start + (m.latency_s || 0), "model")]);
      attachToggle(r, function () { return stepDetail(item, index); });
      rows.push(r); hay.push(strings([item.agent, m.model, m.messages, m.decision, m.raw_text], []).join("\n").toLowerCase());
      item.tools.forEach(function (t) {
        var bad = !!t.data.is_error; error = error || bad;
        var tr = row("tool" + (bad ? " err" : ""), [el("span", "tg", "\u25b6"), el("span", "n", "tool"), toolCell(t.data.tool), el("span", "what", toolSummary(t)),
          el("span", "n", ""), el("span", "n", ms(t.data.latency_s)), bar(t.start, t.end, bad ? "err" : "tool")]);
        attachToggle(tr, function () { return toolDetail(t); });
        rows.push(tr); hay.push(strings([t.data.tool, t.data.call_id, t.data.arguments, t.data.content, t.data.result, t.data.error_type], []).join("\n").toLowerCase());
      });
    } else if (item.type === "tool") {
      var bad2 = !!item.data.is_error; error = bad2;
      var tr2 = row("tool" + (bad2 ? " err" : ""), [el("span", "tg", "\u25b6"), el("span", "n", "tool"), whoCell(item.agent), el("span", "what", toolSummary(item)),
        el("span", "n", ""), el("span", "n", ms(item.data.latency_s)), bar(item.start, item.end, bad2 ? "err" : "tool")]);
      attachToggle(tr2, function () { return toolDetail(item); });
      rows.push(tr2); hay.push(strings(item.data, []).join("\n").toLowerCase());
    } else {
      var cls = eventClass(item); error = cls === "err";
      var er = row("event " + cls, [el("span", "tg", "\u25b6"), el("span", "n", "#" + item.seq), whoCell(item.agent, item.agent ? "" : "run"),
        el("span", "what", eventSummary(item)), el("span", "n", ""), el("span", "n", ""), bar(item.start, item.end, "event")]);
      attachToggle(er, function () { return eventDetail(item); });
      rows.push(er); hay.push(strings([item.kind, item.data], []).join("\n").toLowerCase());
    }
    rows.forEach(function (r) { g.appendChild(r); });
    g.dataset.agent = item.agent || "";
    groups.push({ el: g, rows: rows, hay: hay, agent: item.agent || "", error: error });
    frag.appendChild(g);
  });
  rowsEl.appendChild(frag);

  // -- the time axis -----------------------------------------------------------------------------------------
  var axis = document.getElementById("axis");
  if (axis) [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
    var s = el("span", null, ms(f * duration).replace("<1 ms", "0")); s.style.left = f * 100 + "%"; axis.appendChild(s);
  });

  // -- search and filters ----------------------------------------------------------------------------------
  var search = document.getElementById("search"), agentSel = document.getElementById("agent"), errorsOnly = document.getElementById("errors");
  var count = document.getElementById("count"), hits = [], cursor = -1;
  Object.keys(colors).sort().forEach(function (a) { agentSel.appendChild(el("option", null, a)).value = a; });
  function apply() {
    var q = search.value.trim().toLowerCase(), agent = agentSel.value, errs = errorsOnly.checked, shown = 0;
    hits = []; cursor = -1;
    groups.forEach(function (g) {
      var rowHits = g.rows.map(function (r, i) { return q !== "" && g.hay[i].indexOf(q) !== -1; });
      var visible = (q === "" || rowHits.indexOf(true) !== -1) && (!agent || g.agent === agent) && (!errs || g.error);
      g.el.hidden = !visible;
      g.rows.forEach(function (r, i) {
        var hit = visible && rowHits[i];
        r.classList.toggle("hit", hit);
        if (hit) hits.push(r);
      });
      if (visible) shown++;
    });
    count.textContent = (q ? hits.length + " match" + (hits.length === 1 ? "" : "es") + " \u00b7 " : "") + shown + " of " + groups.length + " entries shown";
  }
  var timer = null;
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
  search.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") return;
    clearTimeout(timer); apply();
    if (!hits.length) return;
    if (cursor >= 0) hits[cursor].classList.remove("flash");
    cursor = (cursor + (ev.shiftKey ? hits.length - 1 : 1)) % hits.length;
    hits[cursor].classList.add("flash");
    hits[cursor].scrollIntoView({ block: "center" });
  });
  agentSel.addEventListener("change", apply);
  errorsOnly.addEventListener("change", apply);
  document.getElementById("collapse").addEventListener("click", function () {
    groups.forEach(function (g) { g.rows.forEach(function (r) { if (r._detail && !r._detail.hidden) toggle(r); }); });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "/" && document.activeElement !== search) { ev.preventDefault(); search.focus(); }
  });
  apply();
  document.body.dataset.ready = "1";
})();
