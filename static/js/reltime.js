// Relative times stay true without a reload. The server writes
//   <time datetime="2026-03-05T09:17:30.248Z" data-relative title="...">3 minutes ago</time>
// ({% reltime %}, onepage/templatetags/times.py); every 30 seconds, when the
// tab is shown again, and for content htmx brings in (the bell's panel), this
// script writes the words again from the datetime, with the server's rules:
// Django's naturaltime (django/contrib/humanize) and timesince
// (django/utils/timesince.py), in UTC. onepage/tests/test_browser_reltime.py
// compares the two for a table of ages.
(() => {
  const NBSP = "\u00a0";
  const SECOND = 1000;
  const DAY = 86400 * SECOND;
  const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const UNITS = ["year", "month", "week", "day", "hour", "minute"];
  const CHUNKS = [604800, 86400, 3600, 60]; // week, day, hour, minute, in seconds

  const count = (n, unit) => `${n}${NBSP}${unit}${n === 1 ? "" : "s"}`;
  const timeOfDay = (d) => d.getTime() - Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());

  // timesince(d, now): "2 weeks, 3 days", at most two adjacent units.
  function since(from, to) {
    if (Math.floor((to - from) / SECOND) <= 0) return count(0, "minute");
    const d = new Date(from);
    const now = new Date(to);
    let months = (now.getUTCFullYear() - d.getUTCFullYear()) * 12 + (now.getUTCMonth() - d.getUTCMonth());
    if (d.getUTCDate() > now.getUTCDate() || (d.getUTCDate() === now.getUTCDate() && timeOfDay(d) > timeOfDay(now))) {
      months -= 1;
    }
    const years = Math.floor(months / 12);
    months -= years * 12;
    let pivot = from;
    if (years || months) {
      let year = d.getUTCFullYear() + years;
      let month = d.getUTCMonth() + 1 + months;
      if (month > 12) {
        month -= 12;
        year += 1;
      }
      const day = Math.min(MONTH_DAYS[month - 1], d.getUTCDate());
      pivot = Date.UTC(year, month - 1, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
    }
    let remaining = (to - pivot) / SECOND;
    const parts = [years, months];
    for (const chunk of CHUNKS) {
      const n = Math.floor(remaining / chunk);
      parts.push(n);
      remaining -= chunk * n;
    }
    const first = parts.findIndex((n) => n !== 0);
    if (first === -1) return count(0, "minute");
    const words = [];
    for (let i = first; i < parts.length && words.length < 2 && parts[i] !== 0; i += 1) {
      words.push(count(parts[i], UNITS[i]));
    }
    return words.join(", ");
  }

  // naturaltime(at) at the instant `now` (milliseconds since the epoch).
  function naturaltime(at, now) {
    const past = at < now;
    const delta = past ? now - at : at - now;
    const days = Math.floor(delta / DAY);
    const seconds = Math.floor((delta - days * DAY) / SECOND);
    const when = past ? "ago" : "from now";
    if (days !== 0) return `${past ? since(at, now) : since(now, at)} ${when}`;
    if (seconds === 0) return "now";
    if (seconds < 60) return seconds === 1 ? `a second ${when}` : `${count(seconds, "second")} ${when}`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes === 1 ? `a minute ${when}` : `${count(minutes, "minute")} ${when}`;
    const hours = Math.floor(minutes / 60);
    return hours === 1 ? `an hour ${when}` : `${count(hours, "hour")} ${when}`;
  }

  // A time up to a minute ahead of this computer's clock is a clock a little
  // behind the server's: "now", not "5 seconds from now".
  const SKEW = 60 * SECOND;

  function refresh(root) {
    const now = Date.now();
    const times = [...root.querySelectorAll("time[data-relative]")];
    if (root instanceof Element && root.matches("time[data-relative]")) times.push(root);
    for (const time of times) {
      const at = Date.parse(time.getAttribute("datetime"));
      if (Number.isNaN(at)) continue;
      const words = naturaltime(at, at > now && at - now < SKEW ? at : now);
      if (time.textContent !== words) time.textContent = words;
    }
  }

  const refreshPage = () => {
    if (document.visibilityState !== "hidden") refresh(document);
  };
  setInterval(refreshPage, 30 * SECOND);
  document.addEventListener("visibilitychange", refreshPage);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) refreshPage(); // back from the back/forward cache
  });
  document.addEventListener("htmx:load", (event) => {
    if (event.target instanceof Element) refresh(event.target);
  });
  refreshPage(); // a page shown from the browser's cache says what it said when it was loaded
})();
