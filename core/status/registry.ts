/**
 * Status/report (OpenSIPS status_report.c): groups of identifiers, each with a status (> 0
 * ready, < 0 not ready, never 0), optional details, and a bounded history of reports
 * (oldest dropped first). The core owns group `core` (identifier `main`); modules register
 * their own through `ctx.sr`. A status change raises E_CORE_SR_STATUS_CHANGED.
 */
import { TsipsError } from "../errors.ts";

export interface SrReport {
  /** UNIX seconds. */
  readonly ts: number;
  readonly log: string;
}

/** One identifier: its status, details and report history. */
export class SrIdentifier {
  status: number;
  details: string | undefined;
  private readonly reports: SrReport[] = [];

  constructor(
    readonly name: string,
    status: number,
    details: string | undefined,
    /** Reports kept (0 = the identifier takes none). */
    readonly maxReports: number,
    private readonly onChange: (id: SrIdentifier, old: number) => void,
    private readonly now: () => number,
  ) {
    this.status = status === 0 ? 1 : status;
    this.details = details;
  }

  /** `sr_set_status`: 0 is taken as 1 (a script cannot be given 0). */
  setStatus(status: number, details?: string): void {
    const old = this.status;
    this.status = status === 0 ? 1 : status;
    this.details = details;
    if (old !== this.status) this.onChange(this, old);
  }

  /** `sr_add_report`: appends, dropping the oldest once `maxReports` are kept. */
  report(log: string): void {
    if (this.maxReports === 0) return;
    if (this.reports.length >= this.maxReports) this.reports.shift();
    this.reports.push({ ts: Math.floor(this.now() / 1000), log });
  }

  history(): readonly SrReport[] {
    return this.reports;
  }
}

export class SrGroup {
  /** Newest first, as OpenSIPS links them. */
  readonly identifiers: SrIdentifier[] = [];

  constructor(readonly name: string, private readonly reg: StatusReports) {}

  /** `sr_register_identifier`; the name defaults to `main`. */
  identifier(name = "main", opts: { status?: number; details?: string; maxReports?: number } = {}): SrIdentifier {
    if (this.find(name)) throw new TsipsError("TSIPS_ERR_MOD_INVALID", `status/report identifier [${name}] already exists in group [${this.name}]`);
    const id = new SrIdentifier(name, opts.status ?? 1, opts.details, opts.maxReports ?? 0,
      (i, old) => this.reg.changed(this, i, old), this.reg.now);
    this.identifiers.unshift(id);
    return id;
  }

  /** `sr_unregister_identifier`. */
  remove(name: string): boolean {
    const i = this.identifiers.findIndex((x) => x.name.toLowerCase() === name.toLowerCase());
    if (i < 0) return false;
    this.identifiers.splice(i, 1);
    return true;
  }

  /** Case-insensitive, as OpenSIPS compares. */
  find(name: string): SrIdentifier | undefined {
    const n = name.toLowerCase();
    return this.identifiers.find((x) => x.name.toLowerCase() === n);
  }
}

/** What a status change tells (E_CORE_SR_STATUS_CHANGED params). */
export interface SrStatusChange {
  group: string;
  identifier: string;
  status: number;
  details?: string;
  old_status: number;
}

export class StatusReports {
  /** Newest first, as OpenSIPS links them. */
  readonly groups: SrGroup[] = [];

  constructor(
    private readonly onStatusChange: (c: SrStatusChange) => void = () => {},
    readonly now: () => number = Date.now,
  ) {}

  /** `sr_register_group`: a duplicate name is refused. */
  group(name: string): SrGroup {
    if (this.find(name)) throw new TsipsError("TSIPS_ERR_MOD_INVALID", `status/report group [${name}] already exists`);
    const g = new SrGroup(name, this);
    this.groups.unshift(g);
    return g;
  }

  find(name: string): SrGroup | undefined {
    const n = name.toLowerCase();
    return this.groups.find((g) => g.name.toLowerCase() === n);
  }

  /** @internal called by an identifier whose status changed. */
  changed(g: SrGroup, id: SrIdentifier, old: number): void {
    this.onStatusChange({ group: g.name, identifier: id.name, status: id.status, ...(id.details !== undefined ? { details: id.details } : {}), old_status: old });
  }
}

/** Core states (`enum sr_core_states`). */
export const CORE_STATE = { running: 1, initializing: -1, terminating: -2 } as const;
