/* Prints the summary of a .cpuprofile: `ts-node bench/tools/summarize-profile.ts FILE [lastSeconds]`. */
import { summarizeProfile } from './cpuprofile';

process.stdout.write(`${summarizeProfile(process.argv[2], Number(process.argv[3] ?? Infinity))}\n`);
