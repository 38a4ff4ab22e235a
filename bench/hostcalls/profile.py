"""Where the time goes: perf (software cpu-clock sampling; this VM has no hardware counters)
on a loaded Envoy, split by DSO — Envoy's own code and its V8 runtime ("envoy", the binary is
stripped so no finer), the kernel, libc, and wasm code compiled by V8 ("JIT").

    .venv/bin/python bench/hostcalls/profile.py KIND REPS NAME=PATH.wasm[@CONFIG] ... [none]

Prints, per variant, the median over REPS fresh Envoys of wall µs per request split by DSO
(1e6 / req/s × share of samples; Envoy runs one worker at ~100% of core 0).
Needs `perf` (Debian: linux-perf) and root (or perf_event_paranoid <= 1).
"""
import sys, subprocess, time, json, re
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parents[1]))
import bench as b
from pathlib import Path
import tempfile
wd=Path(tempfile.mkdtemp(prefix='cors-profile-'))
kind=sys.argv[1]; reps=int(sys.argv[2])
specs=sys.argv[3:]
res={}
for rep in range(reps):
  for spec in specs:
    name,_,rest=spec.partition('=')
    path,at,cfg=rest.partition('@')
    if name=='none': v=b.Variant("none","none","none",cors=False)
    else: v=b.Variant(name,name,"wasm",Path(path).resolve(),b.SMALL_POLICY,raw_config=cfg if at else None)
    e=b.Envoy(b.envoy_binary(), wd, f"p-{name}", b.bootstrap(v,"local"))
    try:
        e.wait_ready()
        lua=b.lua_script(wd, kind, "minimal")
        b.run_wrk(e, lua, 1, 32, [e])
        w=subprocess.Popen(["taskset","-c","1","wrk","-t1","-c32","-d5s","-s",str(lua),f"http://127.0.0.1:{e.port}/"],stdout=subprocess.PIPE,text=True)
        time.sleep(0.5)
        data=wd/f"{name}-{kind}.data"
        subprocess.run(["perf","record","-e","cpu-clock","-F","4000","-o",str(data),"-p",str(e.proc.pid),"--","sleep","4"],capture_output=True,timeout=30)
        out=w.communicate(timeout=20)[0]
        m=re.search(r"WRKJSON (\{.*\})",out); r=json.loads(m.group(1)); rps=r['requests']/(r['duration_us']/1e6)
        rep_=subprocess.run(["perf","report","-i",str(data),"--sort","dso","--stdio","-q"],capture_output=True,text=True).stdout
        d={}
        for line in rep_.splitlines():
            mm=re.match(r"\s*([\d.]+)%\s+(.*\S)",line)
            if mm:
                k=mm.group(2); k='JIT' if k.startswith('[JIT]') else k
                d[k]=d.get(k,0)+float(mm.group(1))
        us=1e6/rps
        res.setdefault(name,[]).append({k:us*v/100 for k,v in d.items()}|{'total':us})
    finally:
        e.stop()
import statistics
keys=['total','envoy','[kernel.kallsyms]','JIT','libc.so.6']
print(f"{'variant':24}"+''.join(f"{k[:10]:>12}" for k in keys))
for name,rows in res.items():
    print(f"{name:24}"+''.join(f"{statistics.median(r.get(k,0) for r in rows):12.2f}" for k in keys))
