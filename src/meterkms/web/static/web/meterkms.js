// meterkms: progressive enhancements. Every page works without this script.
(function () {
  "use strict";

  // Confirmation dialogs: <form data-confirm="dialog-id"> opens the dialog first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialogId = form.getAttribute("data-confirm");
    if (!dialogId || form.dataset.confirmed === "yes") { return; }
    // A second submit button (e.g. "update preview") can opt out of the confirmation.
    if (event.submitter && event.submitter.hasAttribute("data-skip-confirm")) { return; }
    var dialog = document.getElementById(dialogId);
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    event.preventDefault();
    dialog.showModal();
    var ok = dialog.querySelector("[data-confirm-ok]");
    var onOk = function () {
      form.dataset.confirmed = "yes";
      dialog.close();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    };
    ok.addEventListener("click", onOk, { once: true });
  });
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-confirm-cancel]");
    if (cancel) { cancel.closest("dialog").close(); }
  });

  // Copy buttons: <button data-copy="element-id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(source.value || source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || "✓";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // Filter chips: typing in a chip's search box narrows its options.
  document.addEventListener("input", function (event) {
    var search = event.target.closest("[data-option-search]");
    if (!search) { return; }
    var needle = search.value.toLowerCase();
    var options = search.closest(".chip-panel").querySelectorAll(".options label");
    options.forEach(function (option) {
      option.hidden = needle !== "" && option.textContent.toLowerCase().indexOf(needle) === -1;
    });
  });

  // Filter chips: the closed chip names its value ("Labels: Los 039") as soon as it is
  // chosen; htmx swaps only the results, not the form the chips sit in.
  function showChip(chip) {
    var shown = chip.querySelector("summary .value");
    var form = chip.closest("form");
    if (!shown || !form) { return; }
    var text = null;
    var radios = chip.querySelectorAll(".options input[type=radio]");
    if (radios.length) {
      var checked = chip.querySelector(".options input[type=radio]:checked");
      if (!checked) { return; }
      text = checked.value === "" ? "" : checked.parentElement.textContent.trim();
    } else {
      var input = chip.querySelector(".chip-panel input:not([type=search]), .chip-panel select");
      if (!input) { return; }
      text = input.value.trim();
    }
    shown.textContent = text === "" ? (form.getAttribute("data-all") || "") : text;
    chip.classList.toggle("active", text !== "");
    var reset = form.querySelector("[data-reset-filters]");
    if (reset && text !== "") { reset.hidden = false; }
  }
  document.addEventListener("change", function (event) {
    if (!event.target.matches(".chip-panel .options input[type=radio]")) { return; }
    showChip(event.target.closest("details.chip"));
  });
  document.addEventListener("submit", function (event) {
    if (!event.target.matches("form.filters")) { return; }
    event.target.querySelectorAll("details.chip").forEach(showChip);
  });

  // Close other open menus when one opens; Escape closes them.
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!(opened instanceof HTMLDetailsElement) || !opened.open) { return; }
    // A chip's panel that would leave the window on the right opens leftwards instead.
    var panel = opened.querySelector(":scope > .chip-panel");
    if (panel) {
      panel.classList.remove("leftwards");
      if (panel.getBoundingClientRect().right > document.documentElement.clientWidth) {
        panel.classList.add("leftwards");
      }
    }
    document.querySelectorAll("details[open]").forEach(function (other) {
      if (other !== opened && !other.contains(opened)) { other.open = false; }
    });
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll("details[open]").forEach(function (open) { open.open = false; });
  });
})();

// Selection: a header checkbox selects every row checkbox of its name.
document.addEventListener("change", function (event) {
  var all = event.target.closest("[data-select-all]");
  if (!all) { return; }
  var name = all.getAttribute("data-select-all");
  all.closest("form").querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (box) {
    box.checked = all.checked;
  });
});

// Batches: <input data-select-filter="select-id"> narrows the options of a long select;
// "Geräte hinzufügen" (button[data-add-serials]) appends the typed serial to the list.
document.addEventListener("input", function (event) {
  var search = event.target.closest("[data-select-filter]");
  if (!search) { return; }
  var select = document.getElementById(search.getAttribute("data-select-filter"));
  if (!select) { return; }
  var needle = search.value.toLowerCase();
  var first = null;
  Array.prototype.forEach.call(select.options, function (option) {
    var match = option.value === "" || option.text.toLowerCase().indexOf(needle) !== -1;
    option.hidden = !match;
    if (match && option.value !== "" && first === null) { first = option; }
  });
  if (first && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) {
    first.selected = true;
  }
});
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-add-serials]");
  if (!button) { return; }
  var list = document.getElementById(button.getAttribute("data-add-serials"));
  var entry = document.getElementById(button.getAttribute("data-entry"));
  if (!list || !entry) { return; }
  event.preventDefault();
  var typed = entry.value.trim();
  if (typed === "") { return; }
  var current = list.value.trim();
  list.value = current === "" ? typed : current + ", " + typed;
  entry.value = "";
  entry.focus();
});
