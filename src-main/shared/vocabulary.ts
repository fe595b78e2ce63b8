/**
 * The words the engine's manifests and the app's API share: stem names, model ids and device
 * settings, validated the same way on both sides (engine/manifest.ts, api/contract.ts). A name the
 * engine accepts is one the API accepts, so a model whose manifest loads can be chosen in the app.
 * zod only: no Node, DOM or engine imports.
 */
import { z } from 'zod';

/** A stem's name: a lower-case word of at most 41 characters (vocals, drums, bass, other, …). */
export const StemNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,40}$/, 'stem names are lower-case words of at most 41 characters');

/** A model's id: lower-case letters, digits, '.', '_' and '-', at most 101 characters. */
export const ModelIdSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,100}$/, 'not a model id (lower-case letters, digits, . _ -; at most 101 characters)');

/** Where ONNX Runtime runs: the best this machine has, the CPU, or one accelerator. */
export const DeviceSchema = z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml']);
export type Device = z.infer<typeof DeviceSchema>;
