# Cross-check of Docs/results.md's collapse finding in PyTorch (no SynCLR-Swift code involved):
# StableRep's multi-positive contrastive loss on a generated image folder with a vit-nano32-shaped
# ViT, then a weighted kNN (k = 20) on Fashion-MNIST's training split (10,000 fit / 10,000 held out).
#
#   python3 Scripts/experiments/collapse_check.py TEMPERATURE OPTIONS [DATA]
#   OPTIONS, comma-separated: aug (random resized crop + flip), bn (BatchNorm heads), lrX, stepsN,
#   tattn (timm init of q/k/v: truncated normal 0.02), tproj (the same for the projector), tinit (both)
# e.g. python3 Scripts/experiments/collapse_check.py 0.08 aug,steps240,tattn runs/demo/images
import json, sys, math, torch, numpy as np
import torch.nn as nn
from PIL import Image
torch.manual_seed(0); torch.set_num_threads(1)
root=sys.argv[3] if len(sys.argv)>3 else 'runs/demo/images'
rows=[json.loads(l) for l in open(root+'/manifest.jsonl')]
X=torch.tensor(np.stack([np.array(Image.open(root+'/'+r['path']).convert('L').resize((32,32)),dtype=np.float32)/255 for r in rows]))[:,None]
G=torch.tensor([r['caption_id'] for r in rows])
temp=float(sys.argv[1]) if len(sys.argv)>1 else 0.08
opts=sys.argv[2].split(',') if len(sys.argv)>2 else []
aug='aug' in opts
Norm=nn.BatchNorm1d if 'bn' in opts else nn.LayerNorm
lr=float([o[2:] for o in opts if o.startswith('lr')][0]) if any(o.startswith('lr') for o in opts) else 3e-4
class Attn(nn.Module):
    def __init__(s,D,H):
        super().__init__(); s.H=H; s.qkv=nn.Linear(D,3*D); s.proj=nn.Linear(D,D)
    def forward(s,x,*a,**k):
        B,N,D=x.shape; q,kk,v=s.qkv(x).reshape(B,N,3,s.H,D//s.H).permute(2,0,3,1,4)
        o=torch.nn.functional.scaled_dot_product_attention(q,kk,v).transpose(1,2).reshape(B,N,D)
        return (s.proj(o),)
_o=(sys.argv[2].split(',') if len(sys.argv)>2 else [])
TIMM='tinit' in _o or 'tattn' in _o
TPROJ='tinit' in _o or 'tproj' in _o
class Block(nn.Module):
    def __init__(s,D,H):
        super().__init__(); s.n1=nn.LayerNorm(D,eps=1e-6); s.attn=Attn(D,H) if TIMM else nn.MultiheadAttention(D,H,batch_first=True); s.n2=nn.LayerNorm(D,eps=1e-6)
        s.mlp=nn.Sequential(nn.Linear(D,4*D),nn.GELU(),nn.Linear(4*D,D))
    def forward(s,x):
        h=s.n1(x); x=x+s.attn(h,h,h,need_weights=False)[0]; return x+s.mlp(s.n2(x))
class ViT(nn.Module):
    def __init__(s,D=128,depth=4,H=4):
        super().__init__(); s.pe=nn.Conv2d(1,D,4,4); s.cls=nn.Parameter(torch.zeros(1,1,D)); s.pos=nn.Parameter(torch.randn(1,65,D)*.02)
        s.blocks=nn.ModuleList([Block(D,H) for _ in range(depth)]); s.norm=nn.LayerNorm(D,eps=1e-6)
        for m in s.modules():
            if isinstance(m,nn.Linear): nn.init.trunc_normal_(m.weight,std=.02); nn.init.zeros_(m.bias) if m.bias is not None else None
    def forward(s,x):
        t=s.pe(x).flatten(2).transpose(1,2); t=torch.cat([s.cls.expand(len(t),-1,-1),t],1)+s.pos
        for b in s.blocks: t=b(t)
        return s.norm(t)[:,0]
vit=ViT()
proj=torch.nn.Sequential(torch.nn.Linear(128,1024,bias=False),Norm(1024),torch.nn.GELU(),torch.nn.Linear(1024,1024,bias=False),Norm(1024),torch.nn.GELU(),torch.nn.Linear(1024,256))
if TPROJ:
    for m in proj.modules():
        if isinstance(m,nn.Linear): nn.init.trunc_normal_(m.weight,std=.02); nn.init.zeros_(m.bias) if m.bias is not None else None
params=list(vit.parameters())+list(proj.parameters())
opt=torch.optim.AdamW(params,lr=lr,weight_decay=0.04)
caps=G.unique()
def crop(x):
    # random resized crop, scale 0.32-1, + flip
    B=x.shape[0]; out=[]
    for i in range(B):
        s=math.sqrt(np.random.uniform(0.32,1)); h=max(4,int(32*s)); y0=np.random.randint(0,33-h); x0=np.random.randint(0,33-h)
        c=x[i:i+1,:,y0:y0+h,x0:x0+h]; c=torch.nn.functional.interpolate(c,size=32,mode='bilinear',align_corners=False)
        if np.random.rand()<0.5: c=c.flip(-1)
        out.append(c)
    return torch.cat(out)
steps=int([o[5:] for o in opts if o.startswith('steps')][0]) if any(o.startswith('steps') for o in opts) else 120
import gzip
def idx(p,off): return np.frombuffer(gzip.open(p).read(),dtype=np.uint8)[off:]
FI=idx('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz',16).reshape(-1,1,28,28).astype(np.float32)/255
FL=idx('/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz',8).astype(np.int64)
FI=torch.nn.functional.pad(torch.tensor(FI),(2,2,2,2)); FL=torch.tensor(FL)
def knn():
    vit.eval()
    with torch.no_grad():
        f=torch.cat([vit((FI[i:i+1000]-0.5)/0.5) for i in list(range(0,10000,1000))+list(range(50000,60000,1000))])
    vit.train()
    f=torch.nn.functional.normalize(f,dim=-1); tr,te=f[:10000],f[10000:]; ytr,yte=FL[:10000],FL[50000:]
    s=te@tr.T; v,i=s.topk(20,dim=1); w=(v/0.07).exp(); votes=torch.zeros(len(te),10).scatter_add_(1,ytr[i],w)
    return (votes.argmax(1)==yte).float().mean().item()*100
print('knn0', round(knn(),2), flush=True)
for step in range(steps):
    sel=caps[torch.randperm(len(caps))[:12]]
    idx=torch.cat([torch.nonzero(G==c).flatten()[:4] for c in sel])
    x=X[idx]; g=G[idx]
    if aug: x=crop(x)
    z=torch.nn.functional.normalize(proj(vit((x-0.5)/0.5)),dim=-1)
    logits=z@z.T/temp
    eye=torch.eye(len(idx),dtype=torch.bool)
    logits=logits.masked_fill(eye,-1e9)
    tgt=((g[:,None]==g[None,:])&~eye).float(); tgt=tgt/tgt.sum(1,keepdim=True)
    loss=-(tgt*torch.log_softmax(logits,1)).sum(1).mean()
    [g.__setitem__('lr', lr*min(1,(step+1)/30)) for g in opt.param_groups]; opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(params,3.0); opt.step()
    if step%20==0 or step==steps-1: print(step, round(loss.item(),3), flush=True)
print('knn', round(knn(),2), flush=True)
