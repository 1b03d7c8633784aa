(function(){
  var runs=document.querySelectorAll('.run');
  function show(td){
    runs.forEach(function(r){r.hidden=true;});
    document.querySelectorAll('td.sel').forEach(function(c){c.classList.remove('sel');});
    td.classList.add('sel');
    td.getAttribute('data-runs').split(' ').forEach(function(id){document.getElementById(id).hidden=false;});
    document.getElementById('detail-title').textContent=td.getAttribute('data-title');
    document.getElementById('details').scrollIntoView();
  }
  runs.forEach(function(r){r.hidden=true;});
  document.getElementById('detail-title').textContent='Click a cell of the matrix to see its runs';
  document.querySelectorAll('td[data-runs]').forEach(function(td){
    td.addEventListener('click',function(){show(td);});
    td.addEventListener('keydown',function(e){
      if(e.key==='Enter'||e.key===' '){e.preventDefault();show(td);}
    });
  });
})();
