from pumasfs.cli.main import main

main()
