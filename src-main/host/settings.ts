/** App settings (model, device, overlap, formats), remembered atomically in <app data>/settings.json. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_SETTINGS, SettingsSchema, type Settings } from '../api/contract.js';
import { writeJsonAtomic } from '../engine/output/atomic.js';

export class SettingsStore {
  private value: Settings = { ...DEFAULT_SETTINGS };
  constructor(readonly file: string) {}

  async load(): Promise<Settings> {
    try {
      const raw = JSON.parse(await fs.readFile(this.file, 'utf8')) as Record<string, unknown>;
      // Keep what is valid, fall back to defaults field by field.
      const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
      for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[]) {
        const one = SettingsSchema.shape[key].safeParse(raw[key]);
        if (one.success) merged[key] = one.data;
      }
      this.value = SettingsSchema.parse(merged);
    } catch {
      this.value = { ...DEFAULT_SETTINGS };
    }
    return this.get();
  }

  get(): Settings {
    return { ...this.value };
  }

  async set(patch: Partial<Settings>): Promise<Settings> {
    const next = SettingsSchema.parse({ ...this.value, ...patch });
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    await writeJsonAtomic(this.file, next);
    this.value = next;
    return this.get();
  }
}
