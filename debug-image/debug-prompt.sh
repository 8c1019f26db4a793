# Prompt for the retina-tui debug shell: make it obvious where the commands run.
case $- in
*i*) PS1='[debug \h \w]\$ ' ;;
esac
