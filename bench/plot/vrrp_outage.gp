# Failover outage by advert interval, lbd and keepalived (scripts/bench.sh,
# part 4, from bench/vrrp_bench.sh --tsv).
#   gnuplot -e "data='vrrp_outage.tsv'; out='vrrp_outage.png'" bench/plot/vrrp_outage.gp
# data: advert_int ms, then median, min and max outage ms of lbd and of
# keepalived, then the backup's Master_Down_Interval ms; one row an interval.
set terminal pngcairo size 800,550 font "DejaVu Sans,11"
set output out
set datafile separator "\t"
set title "Outage seen by a client when the VRRP master crashes"
set xlabel "advert\\_int"
set ylabel "outage, ms (log scale)"
set logscale y
set yrange [5:*]
set xrange [-0.6:2.6]
set grid ytics
set key outside below
set style fill solid 0.6 border -1
interval(ms) = ms >= 1000 ? sprintf("%g s", ms / 1000) : sprintf("%g ms", ms)
# Two bars an interval (boxerrorbars, 5 columns: x, y, ylow, yhigh, width),
# their medians written at their feet; the Master_Down_Interval as a dash across.
plot data using ($0 - 0.17):2:3:4:(0.32):xtic(interval($1)) with boxerrorbars lc rgb "#4c72b0" \
       title "lbd, median of the rounds, bars min-max", \
     data using ($0 + 0.17):5:6:7:(0.32) with boxerrorbars lc rgb "#dd8452" \
       title "keepalived, median of the rounds, bars min-max", \
     data using 0:8:(0.4) with xerrorbars pt 0 lw 2 dt 2 lc rgb "black" \
       title "Master\\_Down\\_Interval of the backup", \
     data using ($0 - 0.17):(7):(sprintf("%.0f", $2)) with labels font ",9" notitle, \
     data using ($0 + 0.17):(7):(sprintf("%.0f", $5)) with labels font ",9" notitle
