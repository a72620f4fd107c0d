// Show a form part only while another field has a value: data-show-when="principal_type=user" or "all_sites=off".
document.addEventListener("DOMContentLoaded", () => {
  for (const part of document.querySelectorAll("[data-show-when]")) {
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
});
