(function(){
  var rows=document.querySelectorAll('tr.conv');
  var buttons=document.querySelectorAll('.filters button');
  function show(filter){
    buttons.forEach(function(b){b.classList.toggle('active',b.dataset.filter===filter);});
    // changed/missing/new are compare's verdicts, the others statuses.
    var byChange=filter==='changed'||filter==='missing'||filter==='new';
    rows.forEach(function(r){
      var on=filter==='all'||
        (byChange?r.dataset.change===filter:r.dataset.status===filter);
      r.hidden=!on;
    });
  }
  buttons.forEach(function(b){b.addEventListener('click',function(){show(b.dataset.filter);});});
  function open(row){
    document.querySelectorAll('section.transcript').forEach(function(s){s.hidden=true;});
    rows.forEach(function(r){r.classList.remove('selected');});
    var t=document.getElementById(row.dataset.target);
    if(!t)return;
    t.hidden=false;row.classList.add('selected');
    t.scrollIntoView({block:'start'});
  }
  rows.forEach(function(r){
    r.addEventListener('click',function(){open(r);});
    r.addEventListener('keydown',function(e){if(e.key==='Enter')open(r);});
  });
})();
