// Small accessibility repairs to the book theme, found by the axe-core test (tests/test_book_browser.py).
document.addEventListener("DOMContentLoaded", () => {
  // The sidebar's expand/collapse toggles are icon-only <summary> elements: give them a name.
  document.querySelectorAll("summary").forEach((summary) => {
    if (!summary.textContent.trim() && !summary.hasAttribute("aria-label")) {
      summary.setAttribute("aria-label", "Show or hide the pages of this section");
    }
  });
  // A button's accessible name must contain the text it shows (WCAG 2.5.3, "label in name").
  document.querySelectorAll("button[aria-label]").forEach((button) => {
    const shown = (button.innerText || button.textContent).replace(/\s+/g, " ").trim();
    const label = button.getAttribute("aria-label");
    if (shown && !label.toLowerCase().includes(shown.toLowerCase())) {
      button.setAttribute("aria-label", `${label}: ${shown}`);
    }
  });
  // The colour-mode button shows one of three icons whose titles the icon script draws in
  // later, so its name lists all three.
  document.querySelectorAll(".theme-switch-button").forEach((button) => {
    button.setAttribute("aria-label", "Color mode: Light, Dark or System Settings");
  });
  // Docutils marks the bibliography as a list whose entries use the deprecated doc-biblioentry
  // role; a list needs list items.
  document.querySelectorAll('[role="list"] > [role="doc-biblioentry"]').forEach((entry) => {
    entry.setAttribute("role", "listitem");
  });
});
