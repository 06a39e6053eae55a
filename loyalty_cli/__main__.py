from loyalty_cli.cli.entry import main

main()
