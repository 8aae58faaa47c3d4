import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type TensorData } from '@vca/ml';

const PARAM = /\.(weight|bias)$/;

/**
 * The dual encoder's weights read back from an export (image_encoder/ and clip_text_encoder/
 * model.onnx, logit_scale from their config.json), keyed as the training graphs name them. Lets a
 * UNet run start from a shipped dual encoder (its text tower is the frozen diffusion text encoder)
 * without the dual stage's checkpoint. Only parameters are returned: graph constants are
 * builder-numbered and would collide across graphs.
 */
export function exportedDualWeights(modelDir: string): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  for (const member of ['image_encoder', 'clip_text_encoder']) {
    for (const [name, t] of loadModel(join(modelDir, member, 'model.onnx')).initializers) if (PARAM.test(name)) out.set(name, t);
  }
  const config = JSON.parse(readFileSync(join(modelDir, 'image_encoder', 'config.json'), 'utf8')) as { logit_scale?: unknown };
  if (typeof config.logit_scale === 'number') out.set('logit_scale', { dtype: 'float32', dims: [1], data: Float32Array.of(config.logit_scale) });
  return out;
}
