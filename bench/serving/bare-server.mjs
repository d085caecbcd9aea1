// The floor: a bare node:http server calling the same predict in process (no router, no hop).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { importXgboostJson } from '@trainyard/ml/formats/xgboost-json';

const model = importXgboostJson(readFileSync(join(process.env.SM_MODEL_DIR, 'xgboost-model'), 'utf8'));
const n = model.numFeatures;
createServer((request, response) => {
  if (request.url === '/ping') return response.end('ok\n');
  const chunks = [];
  request.on('data', (c) => chunks.push(c));
  request.on('end', () => {
    const cells = Buffer.concat(chunks).toString('utf8').trim().split(',');
    const data = new Float32Array(n);
    for (let j = 0; j < n; j++) data[j] = Number(cells[j]);
    const body = `${model.predict(DenseMatrix.fromColumnMajor(data, 1, n))[0]}\n`;
    response.writeHead(200, { 'content-type': 'text/csv', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
}).listen(Number(process.env.SAGEMAKER_BIND_TO_PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
