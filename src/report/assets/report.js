(function(){
  var rows=document.querySelectorAll('tr.conv');
  var buttons=document.querySelectorAll('.filters button');
  // Whether row "r" belongs under "filter": changed/missing/new are
  // compare's verdicts, "differs" and data-statuses are the side-by-side
  // view's, the others a conversation's status.
  function matches(r,filter){
    if(filter==='all')return true;
    if(filter==='changed'||filter==='missing'||filter==='new')return r.dataset.change===filter;
    if(filter==='differs')return r.dataset.differs==='1';
    if(r.dataset.statuses!==undefined)return r.dataset.statuses.split(' ').indexOf(filter)>=0;
    return r.dataset.status===filter;
  }
  function show(filter){
    buttons.forEach(function(b){b.classList.toggle('active',b.dataset.filter===filter);});
    rows.forEach(function(r){r.hidden=!matches(r,filter);});
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
