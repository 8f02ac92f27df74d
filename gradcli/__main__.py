from gradcli.start import main

main()
