// The bell's count, live: Server-Sent Events from GET /alerts/stream/ (the
// ASGI process, onepage-live; README, "The bell"). Loaded with the bell on
// every page, after browser-notify.js.
//
// - Each event is {"unread": n} and, for a user who opted in to browser
//   notifications, "fresh": what to show there (browser-notify.js shows
//   each once, as it does for the poll's).
// - While the stream is live, the bell's htmx poll (every 5 s) is cancelled
//   before it leaves: no request. When the stream fails, the poll goes on
//   (EventSource tries again and the poll stops when it is back); when the
//   server answers 204 (runserver, the WSGI process alone, no Redis),
//   EventSource gives up and the page polls as before.
(() => {
  const bell = document.getElementById("bell-count");
  if (!bell || !bell.dataset.stream || !("EventSource" in window)) return;
  let live = false;

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (live && event.detail.elt === bell) event.preventDefault();
  });

  // The markup of the poll's answer (alerts/count.html): "9+" past nine,
  // nothing at none.
  const render = (unread) => {
    const counted = document.createElement("span");
    counted.className = "bell-counted";
    if (unread > 0) {
      const badge = document.createElement("span");
      badge.className = "bell-badge";
      badge.textContent = unread > 9 ? "9+" : String(unread);
      const words = document.createElement("span");
      words.className = "visually-hidden";
      words.textContent = " unread";
      counted.append(badge, words);
    }
    bell.replaceChildren(counted);
  };

  const source = new EventSource(bell.dataset.stream);
  source.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!Number.isInteger(message.unread)) return;
    live = true;
    render(message.unread);
    if (Array.isArray(message.fresh)) window.OnePage?.showBrowserNotifications?.(message.fresh);
  });
  source.addEventListener("error", () => {
    live = false;
  });
  // Leaving the page closes the stream at once (not at the server's next heartbeat).
  window.addEventListener("pagehide", () => source.close());
})();
