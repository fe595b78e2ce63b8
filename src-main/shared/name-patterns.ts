/**
 * File name patterns (exported, dragged-out and CLI stems): the tokens and the DAW-style preset,
 * shared by the engine (engine/output/name-pattern.ts renders and checks them), the API and the
 * renderer's export settings. No Node, DOM or engine imports.
 */

/** {song} title · {stem} "Vocals", "Mix" · {bpm} "120" · {key} "A min" · {model} the model's id. */
export const NAME_TOKENS = ['song', 'stem', 'bpm', 'key', 'model'] as const;
export type NameToken = (typeof NAME_TOKENS)[number];

/** How DAW users name stems: "Song - Vocals - 120 BPM - A min" ([ ] is left out when its token is unknown). */
export const DAW_NAME_PATTERN = '{song} - {stem}[ - {bpm} BPM][ - {key}]';
