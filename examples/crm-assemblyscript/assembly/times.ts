// RFC 3339 times in UTC, as the provider writes them ("2024-01-18T22:44:52.37935Z"), compared
// by the instant they name and written as Go's time.RFC3339Nano writes them (fraction without
// trailing zeros), so the checkpoint is the one the Go example saves.

/** An instant: its seconds ("2024-01-18T22:44:52") and nanoseconds as nine digits. */
export class Time {
  constructor(
    public readonly seconds: string,
    public readonly nanos: string,
  ) {}

  /** The zero time, before every other. */
  static zero(): Time {
    return new Time("", "");
  }

  get isZero(): bool {
    return this.seconds.length == 0;
  }

  /** Whether this instant is after other. */
  after(other: Time): bool {
    if (this.seconds != other.seconds) return this.seconds > other.seconds;
    return this.nanos > other.nanos;
  }

  /** RFC 3339 with the fraction's trailing zeros dropped; "" for the zero time. */
  toString(): string {
    if (this.isZero) return "";
    let frac = this.nanos;
    let end = frac.length;
    while (end > 0 && frac.charCodeAt(end - 1) == 0x30) end--;
    return end == 0 ? this.seconds + "Z" : this.seconds + "." + frac.substring(0, end) + "Z";
  }
}

const LAYOUT = "dddd-dd-ddTdd:dd:dd";

/** Parses an RFC 3339 UTC time; "" is the zero time; null if s is neither. */
export function parseTime(s: string): Time | null {
  if (s.length == 0) return Time.zero();
  if (s.length < LAYOUT.length + 1 || s.charCodeAt(s.length - 1) != 0x5a) return null; // ...Z
  for (let i = 0; i < LAYOUT.length; i++) {
    const want = LAYOUT.charCodeAt(i);
    const c = s.charCodeAt(i);
    if (want == 0x64 ? c < 0x30 || c > 0x39 : c != want) return null;
  }
  const rest = s.substring(LAYOUT.length, s.length - 1);
  let nanos = "000000000";
  if (rest.length > 0) {
    if (rest.charCodeAt(0) != 0x2e || rest.length < 2 || rest.length > 10) return null; // .1 to .123456789
    for (let i = 1; i < rest.length; i++) {
      const c = rest.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return null;
    }
    nanos = rest.substring(1) + nanos.substring(rest.length - 1);
  }
  return new Time(s.substring(0, LAYOUT.length), nanos);
}
