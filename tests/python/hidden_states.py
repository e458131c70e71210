"""Records a tower's hidden states as the C++ models report them, for the generative reference
scripts: `<name>.hidden.0` the tower's input (an embedding module's output, or the first block's
input), `<name>.hidden.<i + 1>` block i's output (the first element where a block returns a tuple)."""


def _first(x):
    return x[0] if isinstance(x, tuple) else x


def record(ref, name, blocks, embedding=None):
    """Forward hooks writing into the dict `ref`; returns their handles (remove them after the run)."""
    if embedding is not None:
        hooks = [embedding.register_forward_hook(lambda _m, _i, o: ref.__setitem__(f"{name}.hidden.0", _first(o).clone()))]
    else:
        hooks = [blocks[0].register_forward_pre_hook(
            lambda _m, args, kwargs: ref.__setitem__(f"{name}.hidden.0", (args[0] if args else kwargs["hidden_states"]).clone()),
            with_kwargs=True)]
    for i, block in enumerate(blocks):
        hooks.append(block.register_forward_hook(lambda _m, _i, o, i=i: ref.__setitem__(f"{name}.hidden.{i + 1}", _first(o).clone())))
    return hooks
