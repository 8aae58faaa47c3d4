import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DiffusionModelError } from './diffusion-model.error';
import { openSession, type OpenedSession, type RuntimeConfigSchema } from './onnx-session.factory';
import type { z } from 'zod';

export type Dim = number | string;

export interface TensorSpec {
  name: string;
  type: string;
  shape: readonly Dim[];
}

/** Expected interface of a component: tensor names with their ranks (from the diffusers/optimum exports). */
export interface ComponentContract {
  inputs: Record<string, number>;
  /** Each output may have alternative names (first found wins). */
  outputs: Record<string, { names: string[]; rank: number }>;
}

/**
 * One model component (text encoder, UNet, VAE half): a single ONNX Runtime session opened
 * once, reused for every request, with its tensor names and ranks checked at load time.
 */
export class OnnxComponent {
  private disposed = false;

  private constructor(
    readonly label: string,
    private readonly opened: OpenedSession,
    readonly inputs: ReadonlyMap<string, TensorSpec>,
    readonly outputs: ReadonlyMap<string, TensorSpec>,
    /** Contract output key → actual output name. */
    readonly outputNames: Readonly<Record<string, string>>,
  ) {}

  get device(): 'cpu' | 'cuda' {
    return this.opened.device;
  }

  static async open(label: string, path: string, contract: ComponentContract, runtime: z.output<typeof RuntimeConfigSchema>): Promise<OnnxComponent> {
    if (!existsSync(path)) throw new DiffusionModelError('MISSING_FILE', `${label}: ${path} not found`);
    let opened: OpenedSession;
    try {
      opened = await openSession(path, runtime);
    } catch (err) {
      throw new DiffusionModelError('INVALID_MODEL', `${label}: ONNX Runtime cannot load ${path}: ${(err as Error).message}`);
    }
    const specs = (meta: readonly ort.InferenceSession.ValueMetadata[]) =>
      new Map(meta.filter((m) => m.isTensor).map((m) => [m.name, { name: m.name, type: (m as ort.InferenceSession.TensorValueMetadata).type, shape: (m as ort.InferenceSession.TensorValueMetadata).shape }]));
    const inputs = specs(opened.session.inputMetadata);
    const outputs = specs(opened.session.outputMetadata);
    const fail = (msg: string): never => {
      void opened.session.release();
      throw new DiffusionModelError('WRONG_SHAPE', `${label} (${path}): ${msg}`);
    };
    for (const [name, rank] of Object.entries(contract.inputs)) {
      const spec = inputs.get(name);
      if (!spec) fail(`expected input "${name}", model has ${[...inputs.keys()].join(', ')}`);
      else if (spec.shape.length !== rank) fail(`input "${name}" has rank ${spec.shape.length} [${spec.shape}], expected ${rank}`);
    }
    const outputNames: Record<string, string> = {};
    for (const [key, { names, rank }] of Object.entries(contract.outputs)) {
      const found = names.find((n) => outputs.has(n));
      if (!found) fail(`expected output "${names.join('" or "')}", model has ${[...outputs.keys()].join(', ')}`);
      else if (outputs.get(found)!.shape.length !== rank) fail(`output "${found}" has rank ${outputs.get(found)!.shape.length}, expected ${rank}`);
      else outputNames[key] = found;
    }
    return new OnnxComponent(label, opened, inputs, outputs, outputNames);
  }

  input(name: string): TensorSpec {
    const spec = this.inputs.get(name);
    if (!spec) throw new Error(`${this.label} has no input ${name}`);
    return spec;
  }

  /** A fixed (numeric) dimension of an input or output, or undefined when symbolic. */
  fixedDim(name: string, axis: number, kind: 'input' | 'output' = 'input'): number | undefined {
    const spec = (kind === 'input' ? this.inputs : this.outputs).get(name);
    const d = spec?.shape.at(axis);
    return typeof d === 'number' && d > 0 ? d : undefined;
  }

  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.disposed) throw new Error(`${this.label} was disposed`);
    return this.opened.session.run(feeds);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.opened.session.release();
  }
}
