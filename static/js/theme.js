// Colour mode before the page paints (loaded in <head>, not deferred): the one chosen with the header's
// toggle, else the system's setting, followed live while nothing was chosen. Bootstrap 5.3 reads data-bs-theme.
(() => {
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  const chosen = () => window.localStorage.getItem("easconsole-theme");
  const apply = () => { document.documentElement.dataset.bsTheme = chosen() || (dark.matches ? "dark" : "light"); };
  apply();
  dark.addEventListener("change", apply);
})();
