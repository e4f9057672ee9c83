# Forwarded packets per second by configuration (scripts/bench.sh, part 3).
#   gnuplot -e "data='pps.tsv'; out='pps.png'" bench/plot/pps.gp
# data: configuration, median, min and max Mpps at the sink, one row each.
set terminal pngcairo size 800,500 font "DejaVu Sans,11"
set output out
set datafile separator "\t"
set title "Forwarded 64-byte UDP packets, gen -> LB -> sink over veth"
set ylabel "Mpps at the sink"
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0  # room for the labels above the tallest bar
stats data using 2 nooutput  # STATS_records: one bar per configuration
set xrange [-0.6:STATS_records - 0.4]
set grid ytics
set key top right
set style fill solid 0.6 border -1
# boxerrorbars with 5 columns: x, y, ylow, yhigh, box width.
plot data using 0:2:3:4:(0.6):xtic(1) with boxerrorbars lc rgb "#4c72b0" title "median of the runs, bars min-max", \
     data using 0:4:(sprintf("%.3f", $2)) with labels offset 0,1 notitle
