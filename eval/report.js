// The per-question explorer of report.html. Every text from the run is set with textContent or
// as a text node, never parsed as HTML, so a passage holding markup shows as that markup.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const state = { split: "", armA: "", aIs: "right", armB: "", bIs: "wrong", abstain: "",
                  truncated: false, search: "", page: 0 };

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function select(id, label, options, onChange) {
    const wrapper = element("label", {}, label + " ");
    const box = element("select", { id: id });
    for (const [value, text] of options) box.appendChild(element("option", { value: value }, text));
    box.addEventListener("change", () => { onChange(box.value); state.page = 0; render(); });
    wrapper.appendChild(box);
    return wrapper;
  }

  function buildFilters() {
    const filters = document.getElementById("filters");
    const arms = data.arms.map((arm) => [arm, arm]);
    filters.appendChild(select("f-split", "split", [["", "all"], ...data.splits.map((s) => [s, s])],
      (v) => { state.split = v; }));
    const verdicts = (first) => (first ? [["right", "right"], ["wrong", "wrong"]] : [["wrong", "wrong"], ["right", "right"]]);
    filters.appendChild(select("f-arm-a", "arm A", [["", "-"], ...arms], (v) => { state.armA = v; }));
    filters.appendChild(select("f-a-is", "is", verdicts(true), (v) => { state.aIs = v; }));
    filters.appendChild(select("f-arm-b", "and arm B", [["", "-"], ...arms], (v) => { state.armB = v; }));
    filters.appendChild(select("f-b-is", "is", verdicts(false), (v) => { state.bIs = v; }));
    filters.appendChild(select("f-abstain", "abstained", [["", "-"], ["*", "any arm"], ...arms],
      (v) => { state.abstain = v; }));
    const cut = element("label", {}, " cut at the limit");
    const box = element("input", { type: "checkbox", id: "f-truncated" });
    box.addEventListener("change", () => { state.truncated = box.checked; state.page = 0; render(); });
    cut.prepend(box);
    filters.appendChild(cut);
    const search = element("input", { type: "search", id: "f-search", placeholder: "search text" });
    search.addEventListener("input", () => { state.search = search.value.toLowerCase(); state.page = 0;
      render(); });
    filters.appendChild(search);
  }

  function judged(row, arm, verdict) {
    // No arm chosen: no condition. An arm chosen: it answered this question, right or wrong as asked.
    if (!arm) return true;
    const answer = row.a[arm];
    return Boolean(answer) && answer.c === (verdict === "right");
  }

  function matches(row) {
    if (state.split && row.s !== state.split) return false;
    if (!judged(row, state.armA, state.aIs) || !judged(row, state.armB, state.bIs)) return false;
    const answers = Object.values(row.a);
    if (state.abstain === "*" && !answers.some((x) => x.x)) return false;
    if (state.abstain && state.abstain !== "*" && !(row.a[state.abstain] || {}).x) return false;
    if (state.truncated && !answers.some((x) => x.t)) return false;
    if (state.search) {
      const haystack = [row.q, row.g, row.id, ...answers.map((x) => x.o)].join("\n").toLowerCase();
      if (!haystack.includes(state.search)) return false;
    }
    return true;
  }

  // As the prefix rule reads an answer: a term starts a word, and a short one (under 4 letters,
  // like "pol") is a whole word, so "pol" is not marked inside "politics".
  const WORD = /[\p{L}\p{N}_]/u;
  const startsWord = (text, at) => at === 0 || !WORD.test(text[at - 1]);
  const endsWord = (text, at) => at >= text.length || !WORD.test(text[at]);

  function highlighted(text, terms) {
    // The passage as text nodes with every case-insensitive occurrence of a gold term in <mark>.
    const fragment = document.createDocumentFragment();
    const lower = text.toLowerCase();
    const spans = [];
    for (const term of terms.filter((t) => t)) {
      const needle = term.toLowerCase();
      for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, at + 1)) {
        if (startsWord(lower, at) && (needle.length >= 4 || endsWord(lower, at + needle.length))) {
          spans.push([at, at + needle.length]);
        }
      }
    }
    spans.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
    let position = 0;
    for (const [start, end] of spans) {
      if (start < position) continue;
      fragment.appendChild(document.createTextNode(text.slice(position, start)));
      fragment.appendChild(element("mark", {}, text.slice(start, end)));
      position = end;
    }
    fragment.appendChild(document.createTextNode(text.slice(position)));
    return fragment;
  }

  function passages(row) {
    const details = element("details");
    details.appendChild(element("summary", {}, "retrieved passages"));
    // Arms that read the same passages (one retriever, one k) share one list.
    const lists = new Map();
    for (const arm of data.arms) {
      const answer = row.a[arm];
      if (!answer || !answer.p.length) continue;
      const key = answer.p.join(",");
      if (!lists.has(key)) lists.set(key, { arms: [], passages: answer.p });
      lists.get(key).arms.push(arm);
    }
    for (const { arms, passages: indices } of lists.values()) {
      details.appendChild(element("div", {}, arms.join(", ") + ":"));
      const list = element("ol");
      for (const index of indices) {
        const item = element("li", { class: "passage" });
        item.appendChild(highlighted(data.passages[index], row.m));
        list.appendChild(item);
      }
      details.appendChild(list);
    }
    return lists.size ? details : null;
  }

  function questionCell(row) {
    const cell = element("td", { class: "question-cell" });
    cell.appendChild(element("div", { class: "question" }, row.q));
    cell.appendChild(element("div", { class: "gold" }, "gold: " + row.g));
    const found = passages(row);
    if (found) cell.appendChild(found);
    return cell;
  }

  function answerCell(answer) {
    if (!answer) return element("td", {}, "");
    const cell = element("td", { class: "answer " + (answer.c ? "right" : "wrong") });
    cell.appendChild(element("span", { class: "mark" }, answer.c ? "\u2713" : "\u2717"));
    cell.appendChild(element("span", { class: "output" }, answer.o));
    if (answer.x) cell.appendChild(element("span", { class: "tag" }, "abstained"));
    if (answer.t) cell.appendChild(element("span", { class: "tag" }, "cut at limit"));
    return cell;
  }

  function header(shown) {
    const head = document.querySelector("#questions thead");
    head.replaceChildren();
    const line = element("tr");
    line.appendChild(element("th", {}, "split"));
    line.appendChild(element("th", {}, "question"));
    for (const arm of data.arms) {
      const answered = shown.filter((row) => row.a[arm]);
      const right = answered.filter((row) => row.a[arm].c).length;
      line.appendChild(element("th", { "data-arm": arm }, arm + " (" + right + "/" + answered.length + ")"));
    }
    head.appendChild(line);
  }

  function pager(id, pages) {
    const box = document.getElementById(id);
    box.replaceChildren();
    if (pages <= 1) return;
    const previous = element("button", { type: "button" }, "previous");
    previous.disabled = state.page === 0;
    previous.addEventListener("click", () => { state.page -= 1; render(); });
    const next = element("button", { type: "button", class: "next" }, "next");
    next.disabled = state.page >= pages - 1;
    next.addEventListener("click", () => { state.page += 1; render(); });
    box.append(previous, next, element("span", {}, "page " + (state.page + 1) + " of " + pages));
  }

  function render() {
    const shown = data.rows.filter(matches);
    const pages = Math.max(1, Math.ceil(shown.length / data.page_size));
    state.page = Math.min(state.page, pages - 1);
    const first = state.page * data.page_size;
    const visible = shown.slice(first, first + data.page_size);
    document.getElementById("count").textContent = shown.length + " of " + data.rows.length +
      " questions" + (shown.length ? " (showing " + (first + 1) + "\u2013" + (first + visible.length) + ")" : "");
    header(shown);
    const body = document.querySelector("#questions tbody");
    body.replaceChildren();
    for (const row of visible) {
      const line = element("tr", { class: "q-row", "data-id": row.id });
      line.appendChild(element("td", {}, row.s));
      line.appendChild(questionCell(row));
      for (const arm of data.arms) line.appendChild(answerCell(row.a[arm]));
      body.appendChild(line);
    }
    pager("pager-top", pages);
    pager("pager-bottom", pages);
  }

  buildFilters();
  render();
})();
