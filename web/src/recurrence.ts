// The recurrence builder's model ⇄ an RFC 5545 RRULE (README "Recurrence rules").

export type Freq = 'none' | 'daily' | 'weekly' | 'monthly' | 'interval';
export type End = 'never' | 'until' | 'count';
export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
export const WEEKDAY_NAMES: Record<string, string> = {
  MO: 'Mon', TU: 'Tue', WE: 'Wed', TH: 'Thu', FR: 'Fri', SA: 'Sat', SU: 'Sun',
};

export interface Rule {
  freq: Freq;
  days: string[]; // weekly
  interval: number; // every N days
  end: End;
  until: string; // YYYY-MM-DD
  count: number;
  from: 'due' | 'completion';
}

export const emptyRule = (): Rule => ({
  freq: 'none', days: [], interval: 2, end: 'never', until: '', count: 5, from: 'due',
});

export function toRrule(rule: Rule): string | null {
  const parts: string[] = [];
  switch (rule.freq) {
    case 'none':
      return null;
    case 'daily':
      parts.push('FREQ=DAILY');
      break;
    case 'weekly':
      parts.push('FREQ=WEEKLY');
      if (rule.days.length) parts.push(`BYDAY=${WEEKDAYS.filter((d) => rule.days.includes(d)).join(',')}`);
      break;
    case 'monthly':
      parts.push('FREQ=MONTHLY');
      break;
    case 'interval':
      parts.push('FREQ=DAILY', `INTERVAL=${Math.max(1, Math.floor(rule.interval || 1))}`);
      break;
  }
  if (rule.end === 'until' && rule.until) parts.push(`UNTIL=${rule.until.replace(/-/g, '')}`);
  if (rule.end === 'count' && rule.count > 0) parts.push(`COUNT=${Math.floor(rule.count)}`);
  return parts.join(';');
}

export function fromRrule(rrule: string | undefined | null, from: 'due' | 'completion' = 'due'): Rule {
  const rule = emptyRule();
  rule.from = from;
  if (!rrule) return rule;
  const map = new Map(rrule.split(';').map((p) => p.split('=') as [string, string]));
  const freq = map.get('FREQ');
  const interval = Number(map.get('INTERVAL') || 1);
  if (freq === 'DAILY') rule.freq = interval > 1 ? 'interval' : 'daily';
  else if (freq === 'WEEKLY') rule.freq = 'weekly';
  else if (freq === 'MONTHLY') rule.freq = 'monthly';
  rule.interval = interval > 1 ? interval : 2;
  rule.days = (map.get('BYDAY') || '').split(',').filter(Boolean);
  const until = map.get('UNTIL');
  if (until) {
    rule.end = 'until';
    rule.until = `${until.slice(0, 4)}-${until.slice(4, 6)}-${until.slice(6, 8)}`;
  } else if (map.get('COUNT')) {
    rule.end = 'count';
    rule.count = Number(map.get('COUNT'));
  }
  return rule;
}
