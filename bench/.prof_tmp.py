import sys, time, torch
sys.argv = ['x', '/tmp/o.json', '--gen', '64']
exec(open('bench/python_recorder_overhead.py').read().split('model = build()')[0])
model = build()
prompt = torch.randint(0, 126000, (1, 64), device='cuda')
generate(model, prompt, 64, 32, 16)
from torch.profiler import profile, ProfilerActivity
def rec_run():
    with dlens.Recorder('/tmp/p.dlens', mask_token_id=MASK, prompt_length=64, top_k=5, block_length=32) as rec:
        with dlens.watch(model, rec):
            x = generate(model, prompt, 1024, 32, 64)
        rec.finish(x)
for f in (lambda: generate(model, prompt, 1024, 32, 64), rec_run):
    torch.cuda.synchronize(); t = time.perf_counter(); f(); torch.cuda.synchronize(); print('t', time.perf_counter() - t)
with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
    rec_run()
print(p.key_averages().table(sort_by='cpu_time_total', row_limit=25))
