// Reader-experience fixes for the book (issue 12). Plain JS, no dependencies, runs offline.
(() => {
  const onReady = (callback) =>
    document.readyState !== "loading" ? callback() : document.addEventListener("DOMContentLoaded", callback);

  // --- The chapter-list (primary sidebar) button --------------------------------------------
  // pydata-sphinx-theme and sphinx-book-theme bind their sidebar handlers to
  // document.querySelector(".primary-toggle"), i.e. to the FIRST such button in the page. The
  // book's config (navbar_persistent: []) removes the theme's extra header whose hidden button
  // used to come first, so the visible button in the article header now gets those handlers:
  // below 992 px it opens the sidebar as a modal <dialog> (Escape or a click outside closes it),
  // from 992 px it hides or shows the sidebar column. Here we only keep aria-expanded true to
  // what is on screen, and, should a hidden .primary-toggle ever come first again, forward a
  // click on any other toggle to the one that carries the handlers.
  onReady(() => {
    const toggles = Array.from(document.querySelectorAll(".primary-toggle"));
    const sidebar = document.getElementById("pst-primary-sidebar");
    const dialog = document.getElementById("pst-primary-sidebar-modal");
    if (!toggles.length || !sidebar) return;
    const handled = toggles[0];
    const wide = window.matchMedia("(min-width: 992px)");
    const isOpen = () =>
      wide.matches ? !sidebar.classList.contains("pst-sidebar-hidden") : Boolean(dialog && dialog.open);
    const sync = () => toggles.forEach((t) => t.setAttribute("aria-expanded", String(isOpen())));
    // The themes' handlers stop the click from reaching other listeners (stopImmediatePropagation
    // on wide screens), so follow their effects instead: the sidebar's class and the dialog's state.
    const watch = new MutationObserver(sync);
    watch.observe(sidebar, { attributes: true, attributeFilter: ["class"] });
    if (dialog) watch.observe(dialog, { attributes: true, attributeFilter: ["open"] });
    wide.addEventListener("change", sync);
    // sphinx-book-theme blurs the button on click (to drop its tooltip), so the theme cannot hand
    // focus back when the drawer closes. A keyboard user (a click with detail 0 comes from Enter or
    // Space) gets it back here.
    let openedByKeyboard = false;
    document.addEventListener("click", (event) => {
      if (event.target.closest && event.target.closest(".primary-toggle")) openedByKeyboard = event.detail === 0;
    }, true);
    toggles.forEach((toggle) => {
      toggle.setAttribute("aria-controls", "pst-primary-sidebar");
      toggle.setAttribute("aria-label", "Chapter list");
      if (toggle !== handled) {
        toggle.addEventListener("click", (event) => {
          event.preventDefault();
          handled.click();
        });
      }
    });
    if (dialog) {
      dialog.setAttribute("aria-label", "Chapter list");
      dialog.addEventListener("close", () => setTimeout(() => {
        // after the browser and the theme have moved focus: if it was lost, return it to the button
        const active = document.activeElement;
        const lost = !active || active === document.body || active === dialog || dialog.contains(active);
        const visible = toggles.find((t) => t.offsetParent !== null) || handled;
        if (openedByKeyboard && lost) visible.focus();
      }));
    }
    sync();
  });

  // --- Downloads --------------------------------------------------------------------------------
  // The theme's download menu opens the notebook (.ipynb) and the MyST source (.md) in a new tab,
  // where a browser shows raw JSON or text. Make them downloads, named after their chapter
  // ("04_training_lesson.ipynb") since every lesson file is called lesson.*.
  onReady(() => {
    document.querySelectorAll('.dropdown-download-buttons a[href*="_sources/"]').forEach((link) => {
      const parts = new URL(link.href, document.baseURI).pathname.split("/");
      const name = parts.pop();
      const folder = parts.pop();
      link.setAttribute("download", folder && folder !== "_sources" ? `${folder}_${name}` : name);
    });
  });

  // --- Wide display equations ----------------------------------------------------------------
  // Mark each display equation that scrolls sideways, and on which side there is more to see;
  // book-ux.css fades that side and adds a hint. MathJax typesets after this script runs, so we
  // wait for its startup promise, then follow resizes and scrolling.
  const markOverflow = (container) => {
    const more = container.scrollWidth - container.clientWidth;
    const left = container.scrollLeft > 1;
    const right = more - container.scrollLeft > 1;
    container.classList.toggle("book-overflow-left", more > 1 && left);
    container.classList.toggle("book-overflow-right", more > 1 && right);
    container.parentElement.classList.toggle("book-overflowing", more > 1);
    // A scrollable region must be reachable with the keyboard (axe: scrollable-region-focusable).
    if (more > 1 && !container.hasAttribute("tabindex")) container.setAttribute("tabindex", "0");
  };
  const watchEquations = () => {
    const containers = document.querySelectorAll("div.math mjx-container");
    const resize = typeof ResizeObserver === "function"
      ? new ResizeObserver((entries) => entries.forEach((e) => markOverflow(e.target))) : null;
    containers.forEach((container) => {
      markOverflow(container);
      container.addEventListener("scroll", () => markOverflow(container), { passive: true });
      if (resize) resize.observe(container);
    });
    window.addEventListener("resize", () => containers.forEach(markOverflow));
  };
  const whenTypeset = (tries) => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(watchEquations);
    } else if (tries > 0 && document.querySelector("div.math")) {
      setTimeout(() => whenTypeset(tries - 1), 100);
    }
  };
  onReady(() => whenTypeset(100));
})();
