/**
 * More named presets, kept apart from presets.ts so each file stays one screenful
 * of senders; presets.ts spreads them into PRESETS. Same rules: family options
 * only, each entry proven against the sender's own library or documented example.
 */
import type { PresetOptions } from './presets.ts';

export const MORE_PRESETS = {} as const satisfies Readonly<Record<string, PresetOptions>>;
