from pumasfs.cli.program import run

run()
