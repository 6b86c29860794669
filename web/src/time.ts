// Dates in the user's time zone. Inputs are `<input type=date>` +
// `<input type=time>` (wall-clock values in `zone`); the API speaks RFC 3339.

export const localZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The offset (ms) of `zone` from UTC at the instant `utcMs`. */
function zoneOffset(utcMs: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** `2026-12-01` + `09:00[:ss]` in `zone` → ISO instant (UTC, `Z`). */
export function wallToInstant(date: string, time: string, zone: string): string {
  const [y, m, d] = date.split('-').map(Number);
  const [hh, mm, ss] = (time || '00:00').split(':').map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm, ss || 0);
  // Two passes settle DST transitions.
  let utc = guess - zoneOffset(guess, zone);
  utc = guess - zoneOffset(utc, zone);
  return new Date(utc).toISOString().replace('.000Z', 'Z');
}

/** An instant → `{date, time}` wall-clock values in `zone`. */
export function instantToWall(iso: string, zone: string): { date: string; time: string } {
  const utc = Date.parse(iso);
  const wall = new Date(utc + zoneOffset(utc, zone)).toISOString();
  const seconds = wall.slice(17, 19);
  return { date: wall.slice(0, 10), time: seconds === '00' ? wall.slice(11, 16) : wall.slice(11, 19) };
}

export function formatInstant(iso: string | null | undefined, zone = localZone()): string {
  if (!iso) return '';
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(new Date(iso));
}

export function relative(iso: string): string {
  const diff = Date.parse(iso) - Date.now();
  const fmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const abs = Math.abs(diff);
  if (abs < 60_000) return fmt.format(Math.round(diff / 1000), 'second');
  if (abs < 3_600_000) return fmt.format(Math.round(diff / 60_000), 'minute');
  if (abs < 86_400_000) return fmt.format(Math.round(diff / 3_600_000), 'hour');
  return fmt.format(Math.round(diff / 86_400_000), 'day');
}
