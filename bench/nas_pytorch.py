"""One architecture-search step of DARTS in plain PyTorch, for bench/nas.ts.

The search network of bilevel's NAS task (docs/algorithms.md section 14.4), written as nn.Modules
the way DARTS's reference code lays it out: a stem, search cells whose edges are MixedOps (every
candidate operation, weighted by the softmax of the edge's row of alpha), reductions at cells // 3
and 2 * cells // 3, global average pooling and a linear classifier. Batch norms in the cells have
no scale or shift; the alphas are plain tensors beside the modules' parameters (the weights).

Two steps are timed, each as DARTS's training loop takes it (section 14.6):
  first   the alphas' gradient of the validation loss at the current weights, an Adam step on
          the alphas, then an SGD step on the weights (momentum 0.9, weight decay 3e-4,
          gradients clipped to norm 5, lr 0.025) on a training batch
  second  the virtual step w' = w - lr (momentum * buffer + grad + wd w) on the training batch,
          the validation gradient at w' (alphas: g, weights: v), the finite-difference
          Hessian-vector product at w +- eps v with eps = 0.01 / ||v||, the alpha update with
          g - lr (grad+ - grad-) / (2 eps), then the same weight step as above
Settings: one JSON argument (channels, cells, nodes, batch, imageSize, inChannels, classes,
iterations, threads). Prints one JSON line: the median seconds per step of each method and the
weights' parameter count. Random images: this measures time, not accuracy. Benchmarks only: the
library never imports Python.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

OPERATIONS = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
              "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]


def norm(channels):
    # Without scale or shift (the search network's); no running averages either: the search only
    # ever normalizes by the batch's own statistics, as bilevel does.
    return nn.BatchNorm2d(channels, affine=False, track_running_stats=False)


class Zero(nn.Module):
    """`none`: zeros the size of the (strided) output."""

    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, ::self.stride, ::self.stride].mul(0.0)


class Identity(nn.Module):
    def forward(self, x):
        return x


class ReluConvNorm(nn.Sequential):
    """ReLU, a k x k convolution without bias, batch norm: how a cell brings an input to C channels."""

    def __init__(self, c_in, c_out, kernel, stride):
        super().__init__(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, bias=False), norm(c_out))


class HalveFactorized(nn.Module):
    """ReLU, two 1 x 1 convolutions of stride 2 (the second on the image shifted by a pixel), concatenated, batch norm."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.relu = nn.ReLU()
        self.even = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.odd = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.norm = norm(c_out)

    def forward(self, x):
        x = self.relu(x)
        return self.norm(torch.cat([self.even(x), self.odd(x[:, :, 1:, 1:])], dim=1))


def depthwise_pointwise(channels, kernel, stride, dilation):
    return [nn.Conv2d(channels, channels, kernel, stride, dilation * (kernel - 1) // 2, dilation=dilation,
                      groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False)]


class SeparableConv(nn.Sequential):
    """Twice: ReLU, depthwise k x k (stride the first time only), pointwise 1 x 1, batch norm."""

    def __init__(self, channels, kernel, stride):
        super().__init__(nn.ReLU(), *depthwise_pointwise(channels, kernel, stride, 1), norm(channels),
                         nn.ReLU(), *depthwise_pointwise(channels, kernel, 1, 1), norm(channels))


class DilatedConv(nn.Sequential):
    """ReLU, depthwise k x k of dilation 2, pointwise 1 x 1, batch norm."""

    def __init__(self, channels, kernel, stride):
        super().__init__(nn.ReLU(), *depthwise_pointwise(channels, kernel, stride, 2), norm(channels))


def operation(name, channels, stride):
    if name == "none":
        return Zero(stride)
    if name == "max_pool_3x3":  # pools are followed by a batch norm in the search network
        return nn.Sequential(nn.MaxPool2d(3, stride, 1), norm(channels))
    if name == "avg_pool_3x3":
        return nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False), norm(channels))
    if name == "skip_connect":
        return Identity() if stride == 1 else HalveFactorized(channels, channels)
    kernel = int(name[-1])
    return SeparableConv(channels, kernel, stride) if name.startswith("sep") else DilatedConv(channels, kernel, stride)


class MixedOp(nn.Module):
    """An edge: sum over the candidates of softmax(alpha_e)_o * o(x)."""

    def __init__(self, channels, stride):
        super().__init__()
        self.candidates = nn.ModuleList([operation(name, channels, stride) for name in OPERATIONS])

    def forward(self, x, weights):
        return sum(w * op(x) for w, op in zip(weights, self.candidates))


class SearchCell(nn.Module):
    def __init__(self, nodes, c_prev_prev, c_prev, channels, reduction, after_reduction):
        super().__init__()
        self.nodes = nodes
        self.reduction = reduction
        self.pre0 = HalveFactorized(c_prev_prev, channels) if after_reduction else ReluConvNorm(c_prev_prev, channels, 1, 1)
        self.pre1 = ReluConvNorm(c_prev, channels, 1, 1)
        self.edges = nn.ModuleList()
        for node in range(nodes):
            for source in range(2 + node):
                self.edges.append(MixedOp(channels, 2 if reduction and source < 2 else 1))

    def forward(self, s0, s1, weights):
        states = [self.pre0(s0), self.pre1(s1)]
        edge = 0
        for node in range(self.nodes):
            total = 0
            for state in states:
                total = total + self.edges[edge](state, weights[edge])
                edge += 1
            states.append(total)
        return torch.cat(states[-self.nodes:], dim=1)  # multiplier = nodes, as the task's network


class SearchNetwork(nn.Module):
    def __init__(self, channels, cells, nodes, in_channels, classes, stem_multiplier=3):
        super().__init__()
        stem_channels = stem_multiplier * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False), nn.BatchNorm2d(stem_channels))
        c_prev_prev, c_prev, c = stem_channels, stem_channels, channels
        self.cells = nn.ModuleList()
        after_reduction = False
        for i in range(cells):
            reduction = i in (cells // 3, 2 * cells // 3)
            if reduction:
                c *= 2
            self.cells.append(SearchCell(nodes, c_prev_prev, c_prev, c, reduction, after_reduction))
            after_reduction = reduction
            c_prev_prev, c_prev = c_prev, nodes * c
        self.classifier = nn.Linear(c_prev, classes)
        edges = sum(2 + i for i in range(nodes))
        self.alphas = [(1e-3 * torch.randn(edges, len(OPERATIONS))).requires_grad_(True) for _ in range(2)]

    def forward(self, images):
        s0 = s1 = self.stem(images)
        normal, reduce = (F.softmax(a, dim=-1) for a in self.alphas)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(s1.mean(dim=(2, 3)))

    def loss(self, images, labels):
        return F.cross_entropy(self(images), labels)


LR, MOMENTUM, WEIGHT_DECAY, CLIP = 0.025, 0.9, 3e-4, 5.0


def weight_step(net, w_optimizer, images, labels):
    """DARTS's training step of the weights: SGD with momentum and weight decay after clipping."""
    w_optimizer.zero_grad()
    net.loss(images, labels).backward()
    nn.utils.clip_grad_norm_(net.parameters(), CLIP)
    w_optimizer.step()


def first_order_step(net, a_optimizer, w_optimizer, train, valid):
    a_optimizer.zero_grad()
    net.loss(*valid).backward()  # DARTS's architect: the whole backward, alphas read from .grad
    a_optimizer.step()
    weight_step(net, w_optimizer, *train)


def second_order_step(net, virtual, a_optimizer, w_optimizer, train, valid):
    weights = list(net.parameters())
    a_optimizer.zero_grad()
    # The virtual step w' = w - lr (momentum * buffer + grad + wd * w), written into `virtual`, a
    # second network that shares the alphas.
    grads = torch.autograd.grad(net.loss(*train), weights)
    with torch.no_grad():
        for p, g, q in zip(weights, grads, virtual.parameters()):
            buffer = w_optimizer.state[p].get("momentum_buffer") if p in w_optimizer.state else None
            step = g + WEIGHT_DECAY * p
            if buffer is not None:
                step = step + MOMENTUM * buffer
            q.copy_(p - LR * step)
    # The validation gradient at w': alphas (g) and weights (v).
    virtual_weights = list(virtual.parameters())
    grads = torch.autograd.grad(virtual.loss(*valid), net.alphas + virtual_weights)
    alpha_grads, v = grads[:2], grads[2:]
    eps = 0.01 / torch.sqrt(sum((t * t).sum() for t in v)).item()
    # grad_alpha f at w + eps v and at w - eps v (the weights moved in place and put back).
    def alpha_gradient_at(scale):
        with torch.no_grad():
            for p, t in zip(weights, v):
                p.add_(t, alpha=scale)
        return torch.autograd.grad(net.loss(*train), net.alphas)
    plus = alpha_gradient_at(eps)
    minus = alpha_gradient_at(-2 * eps)
    with torch.no_grad():
        for p, t in zip(weights, v):
            p.add_(t, alpha=eps)
        for a, g, gp, gm in zip(net.alphas, alpha_grads, plus, minus):
            a.grad = g - LR * (gp - gm) / (2 * eps)
    a_optimizer.step()
    weight_step(net, w_optimizer, *train)


def main():
    s = json.loads(sys.argv[1])
    torch.set_num_threads(s["threads"])
    torch.manual_seed(0)
    size, batch = s["imageSize"], s["batch"]

    def batch_of_random_images():
        return torch.randn(batch, s["inChannels"], size, size), torch.randint(0, s["classes"], (batch,))

    shape = (s["channels"], s["cells"], s["nodes"], s["inChannels"], s["classes"])
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for method in ("first", "second"):
        net = SearchNetwork(*shape)
        virtual = SearchNetwork(*shape)
        virtual.alphas = net.alphas
        out["parameters"] = sum(p.numel() for p in net.parameters())
        a_optimizer = torch.optim.Adam(net.alphas, lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
        w_optimizer = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
        seconds = []
        for i in range(s["iterations"] + 1):
            train, valid = batch_of_random_images(), batch_of_random_images()
            start = time.perf_counter()
            if method == "first":
                first_order_step(net, a_optimizer, w_optimizer, train, valid)
            else:
                second_order_step(net, virtual, a_optimizer, w_optimizer, train, valid)
            if i > 0:  # the first is a warm-up
                seconds.append(time.perf_counter() - start)
        seconds.sort()
        out[method] = seconds[len(seconds) // 2]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
