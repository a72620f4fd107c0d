// The console's own behaviour. The Content-Security-Policy allows no inline script and no eval, so pages
// declare what they need with data- attributes and this file, loaded on every page, does it.

// Show a form part only while another field has a value: data-show-when="principal_type=user" or "all_sites=off".
function showWhen(root) {
  for (const part of root.querySelectorAll("[data-show-when]")) {
    const [name, wanted] = part.dataset.showWhen.split("=");
    const inputs = [...document.querySelectorAll(`input[name="${name}"], input[name$="-${name}"]`)];
    const current = () => {
      const radio = inputs.find((input) => input.type === "radio" && input.checked);
      if (radio) return radio.value;
      const box = inputs.find((input) => input.type === "checkbox");
      return box ? (box.checked ? "on" : "off") : "";
    };
    const update = () => { part.hidden = current() !== wanted; };
    inputs.forEach((input) => input.addEventListener("change", update));
    update();
  }
}

// A tick in a clickable row (data-stop-click) ticks the box without opening the row's details pane.
function stopClicks(root) {
  for (const element of root.querySelectorAll("[data-stop-click]")) {
    element.addEventListener("click", (event) => event.stopPropagation());
  }
}

document.addEventListener("DOMContentLoaded", () => {
  showWhen(document);
  stopClicks(document);
});
document.addEventListener("htmx:load", (event) => {
  if (event.target !== document.body) stopClicks(event.target);
});

document.addEventListener("click", (event) => {
  // The select-all tick of a list: data-select-all="<name of the row ticks>".
  const all = event.target.closest("[data-select-all]");
  if (all) {
    document.querySelectorAll(`input[name="${all.dataset.selectAll}"]`).forEach((box) => { box.checked = all.checked; });
  }
  // Add a form to a formset: data-formset-add="<prefix>", data-template="<id of a <template>>", data-rows="<id>".
  const add = event.target.closest("[data-formset-add]");
  if (add) {
    const total = document.getElementById(`id_${add.dataset.formsetAdd}-TOTAL_FORMS`);
    const html = document.getElementById(add.dataset.template).innerHTML.replace(/__prefix__/g, total.value);
    document.getElementById(add.dataset.rows).insertAdjacentHTML("beforeend", html);
    total.value = parseInt(total.value, 10) + 1;
  }
  if (event.target.closest("[data-print]")) window.print();
});

// Polling only while a box is ticked (data-poll-while-checked): htmx's trigger filters need eval.
document.addEventListener("htmx:beforeRequest", (event) => {
  const element = event.detail.elt;
  if (element.matches("[data-poll-while-checked]") && !element.checked) event.preventDefault();
});

// The header's search (templates/console.html): arrow keys move between the results, Escape closes them.
document.addEventListener("keydown", (event) => {
  const search = event.target.closest(".console-search");
  if (!search) return;
  const input = search.querySelector("[data-search-input]");
  const results = search.querySelector(".console-search-results");
  const links = [...results.querySelectorAll("a")];
  const index = links.indexOf(document.activeElement);
  if (event.key === "ArrowDown" && links.length) {
    event.preventDefault();
    links[Math.min(index + 1, links.length - 1)].focus();
  } else if (event.key === "ArrowUp" && links.length) {
    event.preventDefault();
    (index > 0 ? links[index - 1] : input).focus();
  } else if (event.key === "Escape") {
    results.replaceChildren();
    input.focus();
  }
});
document.addEventListener("click", (event) => {
  if (!event.target.closest(".console-search")) {
    document.querySelectorAll(".console-search-results").forEach((results) => results.replaceChildren());
  }
});

// Bulk actions (the device list): buttons wait until a device is ticked, and the ribbon says how many are.
// Once every box of the page is ticked, a bar offers every device matching the filter (data-select-matching):
// the form then sends all_matching=1 and the list's filter, and the server evaluates that filter again.
function updateSelection() {
  const form = document.getElementById("bulk-form");
  if (!form) return;
  const boxes = [...document.querySelectorAll(`input[name="device"][form="bulk-form"]`)];
  const ticked = boxes.filter((box) => box.checked).length;
  const bar = document.querySelector("[data-select-matching]");
  const allMatching = form.querySelector("[data-all-matching]");
  if (!bar || ticked < boxes.length || ticked === 0) allMatching.value = "0";
  const everything = allMatching.value === "1";
  if (bar) {
    bar.hidden = ticked === 0 || ticked < boxes.length;
    bar.querySelector("[data-select-matching-page]").hidden = everything;
    bar.querySelector("[data-select-matching-all]").hidden = !everything;
  }
  const n = everything ? parseInt(bar.dataset.total, 10) : ticked;
  form.querySelectorAll("[data-needs-selection]").forEach((button) => { button.disabled = n === 0; });
  const label = form.querySelector("[data-selected-count]");
  if (label) label.textContent = n === 0 ? label.dataset.none : n === 1 ? label.dataset.one : label.dataset.many.replace("%(n)s", n);
}
document.addEventListener("DOMContentLoaded", updateSelection);
document.addEventListener("change", (event) => {
  if (event.target.matches(`input[form="bulk-form"], [data-select-all]`)) updateSelection();
});
document.addEventListener("click", (event) => {
  const on = event.target.closest("[data-select-matching-on]");
  const off = event.target.closest("[data-select-matching-off]");
  if (!on && !off) return;
  document.querySelector("#bulk-form [data-all-matching]").value = on ? "1" : "0";
  if (off) {
    document.querySelectorAll(`input[form="bulk-form"][type="checkbox"], [data-select-all]`).forEach((box) => { box.checked = false; });
  }
  updateSelection();
  if (on) document.querySelector("[data-select-matching-off]").focus();
});

// A clickable row (it opens the details pane) is a button for the keyboard too: Enter or Space.
document.addEventListener("keydown", (event) => {
  const row = event.target.closest ? event.target.closest("tr.console-row[tabindex]") : null;
  if (row && event.target === row && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    row.click();
  }
});

// The header's Dark mode toggle (the choice is kept in this browser; static/js/theme.js applies it early).
function showTheme() {
  const dark = document.documentElement.dataset.bsTheme === "dark";
  document.querySelectorAll("[data-theme-toggle]").forEach((button) => button.setAttribute("aria-pressed", String(dark)));
}
document.addEventListener("DOMContentLoaded", showTheme);
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-theme-toggle]")) {
    const next = document.documentElement.dataset.bsTheme === "dark" ? "light" : "dark";
    window.localStorage.setItem("easconsole-theme", next);
    document.documentElement.dataset.bsTheme = next;
    showTheme();
  }
  // The phone's Menu button folds the navigation out and back.
  const toggle = event.target.closest("[data-nav-toggle]");
  if (toggle) {
    const nav = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.setAttribute("aria-expanded", String(nav.classList.toggle("open")));
  }
});

// The REST API's docs (/api/docs/): Swagger UI started from the page's data- attributes (no inline script).
// Requests made with "Try it out" use the session, so a write carries the CSRF token as the console's forms do.
document.addEventListener("DOMContentLoaded", () => {
  const docs = document.querySelector("[data-swagger-ui]");
  if (!docs || !window.SwaggerUIBundle) return;
  window.SwaggerUIBundle({
    url: docs.dataset.schemaUrl,
    domNode: docs,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: false,  // its links sit inside each operation's button, which screen readers cannot reach
    syntaxHighlight: false,  // its colours on the dark examples fall short of WCAG AA contrast
    requestInterceptor: (request) => {
      if (!["GET", "HEAD", undefined].includes(request.method)) request.headers["X-CSRFToken"] = docs.dataset.csrfToken;
      return request;
    },
  });
});
