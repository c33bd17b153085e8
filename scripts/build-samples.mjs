// Builds every sample kernel into samples/build (`npm run samples`), or only those named.
import { relative } from 'node:path';
import { buildSamples } from './samples.mjs';

try {
  const names = process.argv.slice(2);
  for (const sample of buildSamples({ names: names.length > 0 ? names : undefined })) {
    console.log(`${sample.name}: ${relative(process.cwd(), sample.image)}`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
