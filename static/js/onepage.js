// OnePage's own behaviour, kept out of the pages: the Content-Security-Policy
// allows no inline script or event handler.

// A <select data-autosubmit> submits its form when changed (the Email
// page's "whose emails" picker).
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.dataset.autosubmit !== undefined && field.form) {
    field.form.requestSubmit();
  }
});
