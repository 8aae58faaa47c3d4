/**
 * Writes the scene world's tokenizer.json + tokenizer_config.json.
 * Usage: npm run world:tokenizer -- <outDir>   (e.g. models/<family>/tokenizer)
 */
import { z } from 'zod';
import { writeTokenizer } from '../tokenizer/tokenizer.builder';

const outDir = z.string().min(1, 'usage: world:tokenizer -- <outDir>').parse(process.argv[2] ?? '');
const built = writeTokenizer(outDir);
console.log(JSON.stringify({ outDir, vocabSize: built.vocabSize, maxLength: built.maxLength }));
