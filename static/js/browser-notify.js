// Browser notifications (the Notification API) of people's opens, for users
// who turned "Show browser notifications" on in their Notifications settings
// and whose browser allows them. Loaded with the bell on every page.
//
// - The bell's 5 s poll (#bell-count, htmx) asks for them (?browser=1) only
//   where the browser has granted the permission; the server answers with
//   them only for a user who opted in. The live channel (bell-live.js)
//   brings the same items in its messages: both show them here.
// - Each is shown once, by its id, remembered in localStorage: other tabs
//   and reloads do not show it again. Clicking it opens its email (the
//   notification's link, which marks it read).
// - On the settings page, a button asks the browser for the permission and
//   a line says what the browser answered.
(() => {
  const supported = "Notification" in window;
  const granted = () => supported && Notification.permission === "granted";
  const SHOWN = "onepage.browserNotified";
  const KEPT = 200;

  const shownIds = () => {
    try {
      return JSON.parse(localStorage.getItem(SHOWN) || "[]");
    } catch {
      return [];
    }
  };

  // True the first time an id is seen (in any tab); remembers it.
  const firstTime = (id) => {
    const ids = shownIds();
    if (ids.includes(id)) return false;
    ids.push(id);
    try {
      localStorage.setItem(SHOWN, JSON.stringify(ids.slice(-KEPT)));
    } catch {
      // Storage refused (private mode, full): the tag still keeps the
      // browser from showing one notification twice at once.
    }
    return true;
  };

  // One notification: {id, title, body, url}.
  const show = ({id, title, body, url}) => {
    if (!id || !firstTime(String(id))) return;
    const notification = new Notification(title, {body, tag: `onepage-notification-${id}`});
    notification.onclick = () => {
      window.focus();
      window.location.assign(url);
      notification.close();
    };
  };

  // Newest first, as the server lists them; shown oldest first, as they happened.
  const showAll = (items) => {
    if (granted()) [...items].reverse().forEach(show);
  };
  // The live channel (bell-live.js) hands its messages' items here too.
  window.OnePage = Object.assign(window.OnePage || {}, {showBrowserNotifications: showAll});

  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.id === "bell-count" && granted()) event.detail.parameters.browser = "1";
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "bell-count") return;
    const items = [...event.detail.target.querySelectorAll("[data-notify-id]")].map((item) => {
      const {notifyId: id, title, body, url} = item.dataset;
      return {id, title, body, url};
    });
    showAll(items);
  });

  // The settings page: the permission, in words, and a button to ask for it.
  const STATES = {
    unsupported: "This browser cannot show notifications: the bell still counts them.",
    granted: "This browser allows OnePage's notifications.",
    denied:
      "This browser blocked OnePage's notifications. To allow them, change this site's notification " +
      "permission in the browser's site settings (often behind the icon left of the address), then reload.",
    default: "This browser has not been asked yet.",
  };

  const describe = (ask, state) => {
    const permission = supported ? Notification.permission : "unsupported";
    state.textContent = STATES[permission] || STATES.default;
    ask.hidden = permission !== "default";
  };

  const setUp = () => {
    const ask = document.querySelector("[data-ask-permission]");
    const state = document.querySelector("[data-permission-state]");
    if (!ask || !state) return;
    describe(ask, state);
    ask.querySelector("button").addEventListener("click", async () => {
      try {
        await Notification.requestPermission();
      } finally {
        describe(ask, state);
      }
    });
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
