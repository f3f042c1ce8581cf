// Process attributes that are one syscall each: rlimits, oom score,
// personality, io priority, scheduler, initial cpu affinity.
import type { Op } from "./ops";
import type { Process } from "../config/types";
import { RLIMITS } from "../config/tables";

const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04, SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
const PER_LINUX = 0x0000;
const PER_LINUX32 = 0x0008;

/** rlimit values are uint64 in the spec; beyond int64 they mean unlimited. */
function limit(v: number): bigint {
  const b = BigInt(Math.trunc(v));
  return b >= 1n << 63n || b < 0n ? -1n : b;
}

/** oom_score_adj alone: create sets it before the clone (see compilePlan). */
export function processOomPlan(proc: Process): Op[] {
  return proc.oomScoreAdj === undefined ? [] : [{ op: "oom_score_adj", value: proc.oomScoreAdj, origin: "/process/oomScoreAdj" }];
}

/** oom: false leaves oom_score_adj out (the caller placed it already). */
export function processAttributePlan(proc: Process, opts: { personality?: { domain: string }; oom?: boolean } = {}): Op[] {
  const ops: Op[] = [];
  (proc.rlimits ?? []).forEach((r, i) =>
    ops.push({ op: "rlimit", resource: RLIMITS[r.type]!, soft: limit(r.soft), hard: limit(r.hard), origin: `/process/rlimits/${i}` }),
  );
  if (opts.oom !== false) ops.push(...processOomPlan(proc));
  if (opts.personality) {
    ops.push({ op: "personality", persona: opts.personality.domain === "LINUX32" ? PER_LINUX32 : PER_LINUX, origin: "/linux/personality" });
  }
  if (proc.ioPriority) {
    ops.push({ op: "ioprio", class: IOPRIO_CLASS[proc.ioPriority.class]!, level: proc.ioPriority.priority, origin: "/process/ioPriority" });
  }
  const s = proc.scheduler;
  if (s) {
    ops.push({
      op: "scheduler",
      policy: SCHED_POLICY[s.policy]!,
      priority: s.priority ?? 0,
      flags: (s.flags ?? []).reduce((m, f) => m | (SCHED_FLAGS[f] ?? 0), 0),
      nice: s.nice ?? 0,
      runtime: s.runtime ?? 0,
      deadline: s.deadline ?? 0,
      period: s.period ?? 0,
      origin: "/process/scheduler",
    });
  }
  if (proc.execCPUAffinity?.initial) {
    ops.push({ op: "affinity", cpus: proc.execCPUAffinity.initial, origin: "/process/execCPUAffinity/initial" });
  }
  return ops;
}
