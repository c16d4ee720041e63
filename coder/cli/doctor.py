"""coder doctor: what coder uses on this machine, and why."""

from __future__ import annotations

import click


@click.command()
@click.option("--measure", is_flag=True, help="Time both backends again now (10–30 s) and cache the result.")
def doctor(measure: bool) -> None:
    """Say which embedding backend '--backend auto' uses on this machine, and why.

    On first use coder times the packaged model on onnxruntime (int8) and on torch (fp32) over a
    fixed batch of sentences and keeps the faster, if its vectors stay close to torch's (mean cosine
    0.98 or more). The decision is cached for this user, keyed by the CPU and library versions, so a
    new machine or a library upgrade measures again.

    \b
    Examples:
      coder doctor
      coder doctor --measure     # after changing hardware, or to check
    """
    from coder import backend_choice as bc
    from coder.embed import measure_backends

    key = bc.machine_key(bc.packaged_model())
    if measure:
        click.echo("Timing the onnx and torch backends …", err=True)
        choice: bc.Choice | None = measure_backends(
            on_export=lambda where: click.echo(f"Preparing the model once (cached in {where}) …", err=True)
        )[0]
    else:
        choice = bc.cached(key)
    click.echo(f"model      {key['model']}")
    click.echo(f"machine    {key['cpu']}, {key['cores']} cores, {key['platform']}")
    click.echo(f"libraries  torch {key['torch']}, onnxruntime {key['onnxruntime']}")
    if choice is None:
        click.echo(
            "backend    not measured yet on this machine: "
            "the first 'coder suggest' does it, or 'coder doctor --measure'"
        )
        return
    click.echo(f"backend    {choice.backend} (auto): {choice.reason}")
    if choice.torch_rate is not None and choice.onnx_rate is not None:
        click.echo(
            f"measured   {choice.measured_at}: torch {choice.torch_rate:.0f} sentences/s, onnx int8 "
            f"{choice.onnx_rate:.0f} sentences/s; cosine onnx to torch: mean {choice.cosine_mean:.4f}, "
            f"min {choice.cosine_min:.4f}"
        )
    click.echo(f"cache      {bc.cache_file()}")


COMMANDS = (doctor,)
