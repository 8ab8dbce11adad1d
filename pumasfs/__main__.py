import gc

gc.disable()  # while the CLI's modules load; main() turns it on before the command runs

from pumasfs.cli.main import main  # noqa: E402

main()
