"""One UL iteration of few-shot RHG in plain PyTorch, for bench/few-shot.ts --timing.

The protocol of bilevel's few-shot task (docs/algorithms.md section 13): a ConvNet-4 backbone
(conv 3x3 -> batch norm with the set's statistics -> ReLU -> max pool 2, four times), one linear
head per task of the meta-batch starting at zero, K gd steps on each head over its support set,
the query cross-entropies summed over the tasks, backpropagated through the K steps into the
backbone, then an Adam step. Two ways:
  recompute  the backbone runs on the support set at every inner step, as the authors' code does
  once       the backbone runs once per set; the inner steps move the heads only
Prints one JSON line: the median seconds per UL iteration of each way. Random images: this
measures time, not accuracy. Benchmarks only: the library never imports Python.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def backbone(params, images):
    h = images
    for block in range(4):
        w, b, gamma, beta = params[4 * block:4 * block + 4]
        h = F.conv2d(h, w, b, padding=1)
        h = F.batch_norm(h, None, None, gamma, beta, training=True)
        h = F.max_pool2d(F.relu(h), 2)
    return h.flatten(1)


def make_backbone(channels, in_channels=1):
    params = []
    for block in range(4):
        conv = torch.nn.Conv2d(in_channels if block == 0 else channels, channels, 3, padding=1)
        params += [conv.weight.detach(), conv.bias.detach(), torch.ones(channels), torch.zeros(channels)]
    return [p.clone().requires_grad_(True) for p in params]


def adapted_head(features_of_step, labels, ways, dim, steps, lr):
    w = torch.zeros(ways, dim, requires_grad=True)
    b = torch.zeros(ways, requires_grad=True)
    for k in range(steps):
        loss = F.cross_entropy(F.linear(features_of_step(), w, b), labels)
        gw, gb = torch.autograd.grad(loss, (w, b), create_graph=True)
        w, b = w - lr * gw, b - lr * gb
    return w, b


def ul_iteration(params, optimizer, episodes, ways, steps, lr, recompute):
    optimizer.zero_grad()
    total = 0
    for support, support_labels, query, query_labels in episodes:
        if recompute:
            features = lambda: backbone(params, support)
        else:
            fixed = backbone(params, support)
            features = lambda: fixed
        dim = features().shape[1]
        w, b = adapted_head(features, support_labels, ways, dim, steps, lr)
        total = total + F.cross_entropy(F.linear(backbone(params, query), w, b), query_labels)
    total.backward()
    optimizer.step()


def main():
    settings = json.loads(sys.argv[1])
    torch.set_num_threads(settings["threads"])
    torch.manual_seed(0)
    ways, shots, queries, size = settings["ways"], settings["shots"], settings["queries"], settings["imageSize"]
    labels = lambda n: torch.arange(ways).repeat_interleave(n)
    episodes = [(torch.rand(ways * shots, 1, size, size), labels(shots), torch.rand(ways * queries, 1, size, size), labels(queries))
                for _ in range(settings["metaBatch"])]
    out = {}
    for way in ("recompute", "once"):
        params = make_backbone(settings["channels"])
        optimizer = torch.optim.Adam(params, lr=1e-3)
        seconds = []
        for i in range(settings["iterations"] + 1):
            start = time.perf_counter()
            ul_iteration(params, optimizer, episodes, ways, settings["steps"], settings["lr"], way == "recompute")
            if i > 0:  # the first is a warm-up
                seconds.append(time.perf_counter() - start)
        seconds.sort()
        out[way] = seconds[len(seconds) // 2]
    out["torch"] = torch.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
