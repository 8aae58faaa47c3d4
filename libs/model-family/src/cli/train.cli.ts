import { parseTrainArgs } from './train-args.util';
import { ModelFamilyTrainer } from '../training/model-family.trainer';

/** `npm run model:train -- --stage all --seed 1`: see train-args.util.ts for the options. */
async function main(): Promise<void> {
  const args = parseTrainArgs(process.argv.slice(2));
  console.log(`model:train stage=${args.stage} seed=${args.seed} preset=${args.preset} work=${args.work} out=${args.out}`);
  await new ModelFamilyTrainer(args).run();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
